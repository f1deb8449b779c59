import MovRPool

/// The SQL dialect of the server: plain PostgreSQL or CockroachDB (which speaks the same protocol).
public enum SQLDialect: String, Sendable, CaseIterable {
    case postgres
    case cockroach
}

/// How a `PostgresClient` connects and sizes its pool.
public struct PostgresConfiguration: Sendable {
    /// A libpq connection URL or conninfo string. Multi-host URLs
    /// (`postgresql://h1:p1,h2:p2/db?target_session_attrs=read-write`) are handled by libpq.
    public var url: String
    /// Maximum number of open connections.
    public var poolSize: Int
    /// libpq `connect_timeout` per host.
    public var connectTimeoutSeconds: Int
    /// How long a caller waits for a free connection before `poolTimeout`.
    public var poolTimeoutSeconds: Double
    /// Reported to the server; visible in `pg_stat_activity`.
    public var applicationName: String
    public var dialect: SQLDialect
    /// Per-connection prepared-statement cache size; statements beyond it run unprepared.
    public var statementCacheCapacity: Int
    /// An idle connection unused this long is closed when the pool next looks at it. Long, so
    /// the pool keeps the size its busiest moment needed through lulls: after a shorter one
    /// (5 minutes until 2026-12-05) the next burst found most connections closed and waited
    /// while new ones opened (a server process and password authentication each).
    public var idleTimeoutSeconds: Double = 1800
    /// A connection older than this (plus up to a tenth, at random per connection) is closed
    /// when it comes back, so server-side state (and a failover target chosen at connect time)
    /// does not live forever.
    public var maxLifetimeSeconds: Double = 3600
    /// A caller that finds every connection busy waits this long for one to come back before
    /// the pool opens another for it (unless none is open). About what an opening costs here
    /// (a server process, password authentication and the first statement: 5.4 ms measured
    /// with `pgbench -C`, against 0.13 ms a statement), so a step in load is served by the connections that come back within
    /// a fraction of a millisecond instead of growing the pool with openings that compete with
    /// it for the CPU (docs/operations.md, "Database connections"). 0: open at once.
    public var poolOpenDelayMilliseconds: Double = 5
    /// TCP keepalive and user timeout of every connection (libpq's `keepalives_idle`,
    /// `keepalives_interval`, `keepalives_count`, `tcp_user_timeout`; nil: libpq's defaults, the
    /// kernel's two hours of keepalive and no user timeout). Without it a statement sent to a
    /// database host gone without a reset waits that long, holding its connection (a statement
    /// cannot be cancelled while it waits); with it the statement fails (`connectionLost`)
    /// within about 5 s and the connection is discarded. A URL that sets these parameters
    /// itself wins. Unix-socket connections ignore them.
    public var keepalive: TCPKeepalive? = TCPKeepalive()
    /// The longest a statement's sender polls the socket for the answer itself before it hands
    /// the wait to the watcher thread, when the client has no other statement in flight and
    /// recent polls paid off (`SocketReadiness.spin(on:)`); 0: never. At one request at a time
    /// the watcher's wake and the hop back to the sender's event loop cost 0.25–0.3 ms per
    /// statement on the benchmark machine, more than the statements themselves.
    public var answerSpinMicroseconds: Int = 0
    /// Whether the process and the machine are idle enough for such a poll, asked before each
    /// one (nil: always). Services: at most one request in flight in the process, and no more
    /// runnable threads than processors (`RunnableThreads`).
    public var answerSpinGate: (@Sendable () -> Bool)? = nil
    /// Called (in the calling task) before every statement is sent: each is one round trip.
    /// Services count them per request against the round-trip budget (docs/API.md).
    public var statementObserver: (@Sendable () -> Void)? = nil

    public init(
        url: String,
        poolSize: Int = 4,
        connectTimeoutSeconds: Int = 5,
        poolTimeoutSeconds: Double = 30,
        applicationName: String = "movr",
        dialect: SQLDialect = .postgres,
        statementCacheCapacity: Int = 256
    ) {
        self.url = url
        self.poolSize = max(1, poolSize)
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.poolTimeoutSeconds = poolTimeoutSeconds
        self.applicationName = applicationName
        self.dialect = dialect
        self.statementCacheCapacity = statementCacheCapacity
    }
}

/// Transaction isolation for `PostgresClient.withTransaction`.
public enum IsolationLevel: String, Sendable {
    case serializable = "SERIALIZABLE"
    case repeatableRead = "REPEATABLE READ"
    case readCommitted = "READ COMMITTED"
}
