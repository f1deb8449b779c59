import CLibPQ
import Logging
import NIOPosix

/// One libpq connection, leased to one task at a time by `PostgresClient`.
///
/// Statements run in libpq's non-blocking mode on the leasing task's own thread (for a request,
/// its event loop): the statement is sent, and while the server works the task waits on
/// ``SocketReadiness`` instead of blocking a thread; it then reads the answer itself (a task
/// cancelled meanwhile has the statement cancelled at the server, ``StatementCanceller``). Only
/// opening and closing, which libpq does blocking, run on the client's `NIOThreadPool`, never on
/// Swift's cooperative pool. Queries use text-format parameters and results (rows read values
/// from the `PGresult` when decoded, see `LibPQResult`); statements that are not DDL are
/// prepared once per connection and reused (keyed by SQL text and parameter types).
///
/// Not `Sendable`, on purpose: a connection is used by one task at a time by construction. The
/// only way to get one is `PostgresClient.withConnection` (or a transaction), whose body holds
/// it; the compiler refuses to send it to another task (`Task {}`, `async let`, an actor) or to
/// return it (results are `Sendable`). It crosses tasks only inside this module, as a
/// ``PoolEntry`` the pool's state machine gives to one lease at a time.
public final class PostgresConnection {
    /// A process-unique number for logs.
    public let id: Int
    /// When the connection was opened; the pool retires it after its maximum lifetime.
    let openedAt = ContinuousClock.now
    let threadPool: NIOThreadPool
    let readiness: SocketReadiness
    let logger: Logger
    private let statementCacheCapacity: Int
    private let statementObserver: (@Sendable () -> Void)?
    /// Cancels the statement in flight when its task is cancelled while it waits (nil when libpq
    /// could not make a cancel handle: statements then run to their end).
    private let canceller: StatementCanceller?

    private var handle: LibPQConnectionHandle?
    private var statements: [StatementKey: String] = [:]
    private var nextStatementNumber = 1
    private var markedBroken = false

    /// How many times this connection sent PQprepare (for tests and metrics).
    public private(set) var prepareCount = 0

    private struct StatementKey: Hashable {
        var sql: String
        var types: [PostgresDataType]
    }

    private init(id: Int, handle: LibPQConnectionHandle, threadPool: NIOThreadPool, readiness: SocketReadiness,
                 logger: Logger, statementCacheCapacity: Int, statementObserver: (@Sendable () -> Void)?) {
        self.id = id
        self.readiness = readiness
        self.statementObserver = statementObserver
        self.handle = handle
        self.threadPool = threadPool
        self.logger = logger
        self.statementCacheCapacity = statementCacheCapacity
        canceller = LibPQCancelHandle(connection: handle.pointer).map {
            StatementCanceller(handle: $0, threadPool: threadPool, logger: logger)
        }
    }

    /// Opens a connection on the thread pool. The session is fixed to UTF8, UTC and ISO dates so
    /// timestamps parse deterministically.
    static func connect(id: Int, configuration: PostgresConfiguration, threadPool: NIOThreadPool,
                        readiness: SocketReadiness, logger: Logger) async throws -> PostgresConnection {
        var logger = logger
        logger[metadataKey: "db.connection"] = "\(id)"
        let handle = try await runBlocking(on: threadPool) {
            try openHandle(configuration: configuration)
        }
        logger.debug("connected")
        return PostgresConnection(id: id, handle: handle, threadPool: threadPool, readiness: readiness, logger: logger,
                                  statementCacheCapacity: configuration.statementCacheCapacity,
                                  statementObserver: configuration.statementObserver)
    }

    private static func openHandle(configuration: PostgresConfiguration) throws -> LibPQConnectionHandle {
        // Later keywords override what the URL says (expand_dbname), except for the URL's own
        // host list. Keepalive comes first, so a URL that sets it wins.
        var parameters: [(String, String)] = []
        if let keepalive = configuration.keepalive {
            parameters += [("keepalives", "1"), ("keepalives_idle", String(keepalive.idleSeconds)),
                           ("keepalives_interval", String(keepalive.intervalSeconds)),
                           ("keepalives_count", String(keepalive.count)),
                           ("tcp_user_timeout", String(keepalive.userTimeoutMilliseconds))]
        }
        parameters += [
            ("dbname", configuration.url),
            ("connect_timeout", String(configuration.connectTimeoutSeconds)),
            ("application_name", configuration.applicationName),
            ("client_encoding", "UTF8"),
        ]
        if configuration.dialect == .postgres {
            parameters.append(("options", "-c TimeZone=UTC -c DateStyle=ISO"))
        }
        let keys = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        let keyPointers: [UnsafePointer<CChar>?] = keys.map { UnsafePointer($0) } + [nil]
        let valuePointers: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        guard let raw = PQconnectdbParams(keyPointers, valuePointers, 1) else {
            throw PostgresError(code: .connectionFailed, serverMessage: "libpq could not allocate a connection")
        }
        let handle = LibPQConnectionHandle(pointer: raw)
        guard PQstatus(raw) == CONNECTION_OK else {
            throw PostgresError(code: .connectionFailed, serverMessage: errorMessage(raw))
        }
        // libpq prints notices to stderr by default; they are not errors, so drop them.
        _ = PQsetNoticeProcessor(raw, { _, _ in }, nil)
        if configuration.dialect == .cockroach {
            let result = PQexec(raw, "SET TIME ZONE 'UTC'")
            _ = try check(result, connection: raw)
        }
        // From here on statements are sent without blocking and answers awaited (`exchange`).
        guard PQsetnonblocking(raw, 1) == 0 else {
            throw PostgresError(code: .connectionFailed, serverMessage: errorMessage(raw))
        }
        return handle
    }

    /// Runs one statement with binds and returns all rows.
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        logger.debug("query", metadata: ["db.statement": "\(query.sql)"])
        statementObserver?()
        return try await runQuery(query)
    }

    /// Runs simple SQL without parameters (the simple query protocol); may hold several
    /// statements (migrations, DDL, BEGIN/COMMIT). Returns the last statement's result, or the
    /// first error.
    @discardableResult
    public func execute(_ sql: String) async throws -> PostgresRows {
        logger.debug("execute", metadata: ["db.statement": "\(sql)"])
        statementObserver?()
        let conn = try requireHandle()
        return try await record {
            PostgresRows(result: try await exchange(conn, sent: PQsendQuery(conn, sql)))
        }
    }

    /// Whether the connection has been closed.
    public var isClosed: Bool { handle == nil }

    /// Closes the connection (PQfinish on the thread pool when it is still running).
    func close() async {
        let entry = PoolEntry(connection: self)
        do {
            try await threadPool.runIfActive { entry.connection.handle = nil }
        } catch {
            handle = nil
        }
    }

    // MARK: Pool support (called while the pool owns the connection; non-blocking)

    /// True if the connection can be handed back to the pool: not broken, not busy, and idle (no
    /// open transaction). No system call: it has just finished its exchange; a server that closes
    /// it while it waits idle is seen at the next checkout (``isReusableAtCheckout()``).
    func isReusable() -> Bool {
        guard !markedBroken, let handle else { return false }
        let conn = handle.pointer
        return PQstatus(conn) == CONNECTION_OK && PQisBusy(conn) == 0 && PQtransactionStatus(conn) == PQTRANS_IDLE
    }

    /// ``isReusable()``, and — without a round trip — the server has not closed the socket while
    /// the connection waited idle (e.g. a restart). One `poll` with no timeout: an idle
    /// connection has nothing to read, so a socket with nothing to read (a hang-up reads as
    /// readable: end of file) is alive.
    /// Otherwise libpq reads what is there: the first read may only pick up a pending FATAL
    /// message, the next one sees the EOF.
    func isReusableAtCheckout() -> Bool {
        guard isReusable(), let conn = handle?.pointer else { return false }
        var descriptor = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, 0) == 0 { return true }
        for _ in 0..<3 {
            guard PQconsumeInput(conn) == 1, PQstatus(conn) == CONNECTION_OK else { return false }
        }
        return PQisBusy(conn) == 0 && PQtransactionStatus(conn) == PQTRANS_IDLE
    }

    // MARK: Thread-pool side

    private static func runBlocking<T: Sendable>(on threadPool: NIOThreadPool,
                                                 _ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await threadPool.runIfActive(body)
        } catch is NIOThreadPoolError.ThreadPoolInactive {
            throw PostgresError(code: .poolClosed)
        }
    }

    private func requireHandle() throws -> OpaquePointer {
        guard let handle else { throw PostgresError(code: .connectionLost, serverMessage: "connection closed") }
        return handle.pointer
    }

    private func runQuery(_ query: PostgresQuery) async throws -> PostgresRows {
        let conn = try requireHandle()
        let binds = query.binds
        let types: [Oid] = binds.types.map(\.rawValue)
        let count = Int32(binds.count)

        let key = StatementKey(sql: query.sql, types: binds.types)
        var name = query.plansEachExecution ? nil : statements[key]
        if name == nil, !query.plansEachExecution, statements.count < statementCacheCapacity, Self.isPreparable(query.sql) {
            let newName = "movr_s\(nextStatementNumber)"
            nextStatementNumber += 1
            try await record {
                _ = try await exchange(conn, sent: PQsendPrepare(conn, newName, query.sql, count, types))
            }
            prepareCount += 1
            statements[key] = newName
            name = newName
        }

        // libpq copies the values into its send buffer; they need to live only until the send.
        let resultFormat: Int32 = query.resultFormat == .binary ? 1 : 0
        let sent = Self.withCStrings(binds.values, name) { valuePointers, name in
            if let name {
                PQsendQueryPrepared(conn, name, count, valuePointers, nil, nil, resultFormat)
            } else {
                PQsendQueryParams(conn, query.sql, count, types, valuePointers, nil, nil, resultFormat)
            }
        }
        return try await record {
            do {
                return PostgresRows(result: try await exchange(conn, sent: sent))
            } catch let error as PostgresError where name != nil && Self.invalidatesStatement(error) {
                // Re-prepare next time (schema changed the result type, or the statement is gone).
                statements[key] = nil
                if error.sqlState == "0A000" { _ = try? await exchange(conn, sent: PQsendQuery(conn, "DEALLOCATE \(name!)")) }
                throw error
            }
        }
    }

    /// Completes a statement just handed to a `PQsend*` function (`sent` is its return value):
    /// flushes what libpq could not write yet, then reads results until libpq has none left,
    /// waiting on ``SocketReadiness`` whenever the socket has nothing (or no room) for it.
    /// Returns the last result, or throws for the first failed one.
    private func exchange(_ conn: OpaquePointer, sent: Int32) async throws -> LibPQResult {
        guard sent == 1 else { throw Self.failure(conn) }
        let socket = PQsocket(conn)
        while true {
            let flushed = PQflush(conn)
            if flushed == 0 { break }
            guard flushed == 1 else { throw Self.failure(conn) }
            // Room to write, or an answer to read first (libpq's advice for a full send buffer).
            try await readiness.wait(for: socket, orWritable: true)
            guard PQconsumeInput(conn) == 1 else { throw Self.failure(conn) }
        }
        readiness.beginStatement()
        defer { readiness.endStatement() }
        var last: LibPQResult?
        var firstError: PostgresError?
        var spun = false
        var yielded = false
        // Only a wait can have started a cancel request (see the end).
        var waited = false
        while true {
            while PQisBusy(conn) == 1 {
                if !spun {
                    // Alone and idle, poll for the answer here: no wake of the watcher, none of
                    // this task's executor (SocketReadiness.spin(on:) decides whether to).
                    spun = true
                    if readiness.spin(on: socket) {
                        guard PQconsumeInput(conn) == 1 else { throw Self.failure(conn) }
                        continue
                    }
                }
                if !yielded {
                    // Let the executor run what else is ready first (other requests on this event
                    // loop); under load the answer is often in by then, and reading it here saves
                    // the readiness thread's wake and the hop back. Idle, this costs one recv.
                    yielded = true
                    await Task.yield()
                } else {
                    // A task cancelled while it waits (its caller gone, its deadline passed) has
                    // the statement cancelled at the server and keeps reading: the answer (the
                    // cancellation's error, or the result if it was done first) comes at once.
                    waited = true
                    try await withTaskCancellationHandler {
                        try await readiness.wait(for: socket)
                    } onCancel: { [canceller] in
                        canceller?.request()
                    }
                }
                guard PQconsumeInput(conn) == 1 else { throw Self.failure(conn) }
            }
            guard let raw = PQgetResult(conn) else { break }
            do {
                last = try Self.check(raw, connection: conn)
            } catch let error as PostgresError {
                if firstError == nil { firstError = error }
                if error.code == .connectionLost { break }
            }
        }
        // A cancel request still on its way could cancel this connection's next statement. A
        // lost connection is never reused, and a request to a server gone may take long.
        if waited, PQstatus(conn) == CONNECTION_OK, let canceller, await canceller.settle(),
           var error = firstError, error.sqlState == "57014" {
            error.code = .cancelled
            throw error
        }
        if let firstError { throw firstError }
        guard let last else { throw Self.failure(conn) }
        return last
    }

    /// The error libpq reports for a failed call on `conn`: lost when the connection is.
    private static func failure(_ conn: OpaquePointer) -> PostgresError {
        let code: PostgresError.Code = PQstatus(conn) == CONNECTION_OK ? .server : .connectionLost
        return PostgresError(code: code, serverMessage: errorMessage(conn))
    }

    /// Remembers fatal connection errors so the pool discards this connection.
    private func record<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError {
            if error.code == .connectionLost { markedBroken = true }
            throw error
        }
    }

    private static func invalidatesStatement(_ error: PostgresError) -> Bool {
        error.sqlState == "26000" || error.sqlState == "0A000"
    }

    /// Calls `body` with NUL-terminated copies of `values` (nil stays a null pointer: SQL NULL)
    /// and of `name`, all in one temporary buffer. Converting each `String` to a C string on its
    /// own allocated per value (short strings have no terminated storage to lend), plus a
    /// `strdup` each.
    static func withCStrings<R>(_ values: [String?], _ name: String?,
                                _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<CChar>?) -> R) -> R {
        var total = (name?.utf8.count ?? 0) + 1
        for value in values { total += (value?.utf8.count ?? 0) + 1 }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: total) { storage in
            withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: max(values.count, 1)) { pointers in
                var offset = 0
                func copy(_ text: String) -> UnsafePointer<CChar> {
                    let start = storage.baseAddress! + offset
                    var text = text
                    let count = text.withUTF8 { utf8 -> Int in
                        if let base = utf8.baseAddress, !utf8.isEmpty {
                            base.withMemoryRebound(to: CChar.self, capacity: utf8.count) { start.update(from: $0, count: utf8.count) }
                        }
                        return utf8.count
                    }
                    start[count] = 0
                    offset += count + 1
                    return UnsafePointer(start)
                }
                for (index, value) in values.enumerated() {
                    pointers[index] = value.map(copy)
                }
                let name = name.map(copy)
                return body(values.isEmpty ? nil : UnsafePointer(pointers.baseAddress), name)
            }
        }
    }

    /// Only plain DML is prepared: DDL and utility statements cannot be or should not be cached.
    static func isPreparable(_ sql: String) -> Bool {
        let keyword = sql.drop(while: { $0.isWhitespace || $0 == "(" })
            .prefix(while: { $0.isLetter }).uppercased()
        return ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES", "UPSERT"].contains(keyword)
    }

    private static func errorMessage(_ conn: OpaquePointer) -> String {
        PQerrorMessage(conn).map { String(cString: $0) } ?? "unknown libpq error"
    }

    /// Takes ownership of a result and turns failures into `PostgresError`.
    static func check(_ raw: OpaquePointer?, connection conn: OpaquePointer) throws -> LibPQResult {
        guard let raw else {
            let code: PostgresError.Code = PQstatus(conn) == CONNECTION_OK ? .server : .connectionLost
            throw PostgresError(code: code, serverMessage: errorMessage(conn))
        }
        let result = LibPQResult(pointer: raw)
        switch result.status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result
        default:
            let lost = PQstatus(conn) != CONNECTION_OK
            let sqlState = result.errorField(UInt8(ascii: "C"))
            throw PostgresError(
                code: lost ? .connectionLost : .server,
                sqlState: sqlState,
                constraintName: result.errorField(UInt8(ascii: "n")),
                serverMessage: result.errorField(UInt8(ascii: "M")) ?? errorMessage(conn),
                serverDetail: result.errorField(UInt8(ascii: "D"))
            )
        }
    }
}

/// A connection crossing tasks inside this module: held by the pool, handed to one lease, run on
/// the thread pool while its lease waits. `@unchecked Sendable` here and nowhere else: the pool's
/// state machine gives each connection to one lease at a time (`ConnectionPoolStateTests`, the
/// randomized never-held-twice check) and a lease gives it back before it is handed on.
struct PoolEntry: @unchecked Sendable {
    let connection: PostgresConnection
    /// Where the connection's lifetime counts from (``ConnectionPoolState``): its opening plus
    /// a random part of a tenth of the maximum lifetime, so connections opened together (a
    /// burst) are not all retired, and reopened, together.
    let lifetimeStart: ContinuousClock.Instant

    init(connection: PostgresConnection, lifetimeStart: ContinuousClock.Instant? = nil) {
        self.connection = connection
        self.lifetimeStart = lifetimeStart ?? connection.openedAt
    }
}
