import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// A pooled PostgreSQL client over libpq. Connections open lazily up to `poolSize`. Statements
/// run in libpq's non-blocking mode on the caller's own thread, which waits for the server's
/// answer through ``SocketReadiness`` (one epoll thread); only opening and closing connections,
/// which libpq does blocking, run on a private `NIOThreadPool`.
///
/// Creating a client starts nothing: its threads start with ``start()`` (a service's `prepare`
/// calls it before migrations) or, at the latest, with the first statement. As a lifecycle
/// `Service` (``run()``) it lives until the service group shuts down and then closes; or call
/// ``shutdown()`` directly. Shutting down stops the threads for good (later calls do nothing, and
/// a client shut down never starts again: statements then fail as the pool is closed).
public final class PostgresClient: Service, Sendable {
    public let configuration: PostgresConfiguration
    let logger: Logger
    let threadPool: NIOThreadPool
    let readiness: SocketReadiness
    let pool: ConnectionPool
    private let state = NIOLockedValueBox(ThreadState.idle)

    private enum ThreadState {
        case idle
        case running
        case shutDown
    }

    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.readiness = SocketReadiness(spinBudgetMicroseconds: configuration.answerSpinMicroseconds,
                                         spinGate: configuration.answerSpinGate)
        // One thread per connection that may be opening or closing at once, one for the watcher.
        self.threadPool = NIOThreadPool(numberOfThreads: configuration.poolSize + 1)
        self.pool = ConnectionPool(configuration: configuration, threadPool: threadPool, readiness: readiness, logger: logger)
    }

    /// Starts the threads (libpq's blocking connects and closes, the socket watcher), once
    /// (idempotent; nothing after ``shutdown()``).
    public func start() {
        // The threads start under the lock: a caller that finds the client running must find
        // its thread pool active too (concurrent first statements would otherwise fail as if
        // the pool were closed).
        state.withLockedValue { state in
            guard case .idle = state else { return }
            state = .running
            threadPool.start()
            let readiness = readiness
            threadPool.submit { state in
                if case .active = state { readiness.run() }
            }
        }
    }

    /// Starts the threads (if ``start()`` has not), waits for the group's graceful shutdown (or
    /// cancellation), then shuts the client down. In a service group, place it before whatever
    /// uses it: groups stop their services in reverse order, so it closes after them.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Whether the threads run (between ``start()`` or the first statement and ``shutdown()``).
    var threadsStarted: Bool {
        state.withLockedValue { if case .running = $0 { true } else { false } }
    }

    /// Leases a connection for the duration of `body`, which alone can use it: the connection is
    /// not `Sendable`, so it cannot be handed to another task or kept beyond `body`.
    public func withConnection<R: Sendable>(_ body: (PostgresConnection) async throws -> R) async throws -> R {
        start()
        let entry = try await pool.lease()
        do {
            let result = try await body(entry.connection)
            pool.release(entry)
            return result
        } catch {
            pool.release(entry)
            throw error
        }
    }

    /// Runs one statement on some pooled connection.
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { try await $0.query(query) }
    }

    /// Runs simple SQL (possibly several statements, no parameters) on some pooled connection.
    @discardableResult
    public func execute(_ sql: String) async throws -> PostgresRows {
        try await withConnection { try await $0.execute(sql) }
    }

    /// True if a connection can be leased and answers `SELECT 1`.
    public func ping() async -> Bool {
        do {
            let rows = try await query("SELECT 1 AS ok")
            return rows.first?["ok"] == "1"
        } catch {
            return false
        }
    }

    /// Opens connections until `count` are idle (at most the pool's size), all at once, so the
    /// first calls after a start find them open; returns how many are idle. A failure is
    /// logged, not thrown: calls open what they need later.
    @discardableResult
    public func warm(connections count: Int) async -> Int {
        start()
        return await pool.warm(connections: count)
    }

    /// Pool counters (open/idle/waiting connections, peak, totals).
    public var poolStatistics: PoolStatistics {
        get async {
            let stats = pool.currentStatistics
            return PoolStatistics(openConnections: stats.open, idleConnections: stats.idle, waiting: stats.waiting,
                                  peakOpenConnections: stats.peakOpen, peakConnecting: stats.peakConnecting,
                                  connectionsOpened: stats.opened, connectionsDiscarded: stats.discarded)
        }
    }

    /// Closes idle connections, fails waiters, and stops the thread pool. Connections still
    /// leased are closed when they come back (or when their owner is released).
    public func shutdown() async {
        let running = state.withLockedValue { state -> Bool? in
            defer { state = .shutDown }
            switch state {
            case .idle: return false
            case .running: return true
            case .shutDown: return nil
            }
        }
        guard let running else { return }
        await pool.shutdown()
        guard running else { return }
        readiness.stop()
        do {
            try await threadPool.shutdownGracefully()
        } catch {
            logger.debug("thread pool shutdown failed", metadata: ["error": "\(error)"])
        }
    }
}

/// A snapshot of the pool's counters.
public struct PoolStatistics: Sendable, Hashable {
    public var openConnections: Int
    public var idleConnections: Int
    public var waiting: Int
    public var peakOpenConnections: Int
    /// The most connections ever being opened at once (at most two, except while warming).
    public var peakConnecting: Int
    public var connectionsOpened: Int
    public var connectionsDiscarded: Int
}
