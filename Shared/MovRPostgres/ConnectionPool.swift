import Logging
import NIOPosix

/// A bounded pool of `PostgresConnection`s. Waiters are served first-in first-out and give up
/// after `poolTimeoutSeconds`. Idle connections are health-checked without a round trip on
/// checkout; connections returned broken or inside a transaction are discarded.
actor ConnectionPool {
    /// Counters for tests and metrics.
    struct Statistics: Sendable {
        var open: Int
        var idle: Int
        var waiting: Int
        var peakOpen: Int
        var opened: Int
        var discarded: Int
    }

    private enum Grant {
        case connection(PostgresConnection)
        /// The waiter inherits a reserved slot and must open a connection itself.
        case slot
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Grant, any Error>
        let timeout: Task<Void, Never>
    }

    private let configuration: PostgresConfiguration
    private let threadPool: NIOThreadPool
    private let logger: Logger

    private var idle: [PostgresConnection] = []
    /// Open plus being-opened connections; never exceeds `configuration.poolSize`.
    private var reserved = 0
    private var waiters: [Waiter] = []
    private var nextWaiterID = 0
    private var nextConnectionID = 0
    private var closed = false
    private var statistics = Statistics(open: 0, idle: 0, waiting: 0, peakOpen: 0, opened: 0, discarded: 0)

    init(configuration: PostgresConfiguration, threadPool: NIOThreadPool, logger: Logger) {
        self.configuration = configuration
        self.threadPool = threadPool
        self.logger = logger
    }

    var currentStatistics: Statistics {
        var copy = statistics
        copy.open = reserved
        copy.idle = idle.count
        copy.waiting = waiters.count
        return copy
    }

    func lease() async throws -> PostgresConnection {
        guard !closed else { throw PostgresError(code: .poolClosed) }
        while let connection = idle.popLast() {
            if connection.isReusable() { return connection }
            await discard(connection, reason: "unhealthy on checkout")
            if !waiters.isEmpty || closed { break }
        }
        if !closed, waiters.isEmpty, reserved < configuration.poolSize {
            reserved += 1
            return try await openReserved()
        }
        switch try await enqueueWaiter() {
        case .connection(let connection): return connection
        case .slot: return try await openReserved()
        }
    }

    func release(_ connection: PostgresConnection) async {
        guard !closed, connection.isReusable() else {
            await discard(connection, reason: closed ? "pool closed" : "unhealthy on release")
            return
        }
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .connection(connection))
        } else {
            idle.append(connection)
        }
    }

    func shutdown() async {
        closed = true
        for waiter in waiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(throwing: PostgresError(code: .poolClosed))
        }
        waiters.removeAll()
        let connections = idle
        idle.removeAll()
        for connection in connections {
            await discard(connection, reason: "pool closed")
        }
    }

    // MARK: Private

    private func openReserved() async throws -> PostgresConnection {
        nextConnectionID += 1
        do {
            let connection = try await PostgresConnection.connect(
                id: nextConnectionID, configuration: configuration, threadPool: threadPool, logger: logger)
            statistics.opened += 1
            statistics.peakOpen = max(statistics.peakOpen, reserved)
            return connection
        } catch {
            freeSlot()
            throw error
        }
    }

    private func discard(_ connection: PostgresConnection, reason: String) async {
        logger.debug("discarding connection", metadata: ["db.connection": "\(connection.id)", "reason": "\(reason)"])
        statistics.discarded += 1
        freeSlot()
        await connection.close()
    }

    /// Gives a freed slot to the oldest waiter, or returns it to the pool.
    private func freeSlot() {
        if !closed, !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .slot)
        } else {
            reserved -= 1
        }
    }

    private func enqueueWaiter() async throws -> Grant {
        nextWaiterID += 1
        let id = nextWaiterID
        let timeoutSeconds = min(configuration.poolTimeoutSeconds, 86_400 * 365)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let timeout = Task {
                    try? await Task.sleep(nanoseconds: UInt64(max(0, timeoutSeconds) * 1_000_000_000))
                    guard !Task.isCancelled else { return }
                    self.failWaiter(id: id, error: PostgresError(code: .poolTimeout))
                }
                waiters.append(Waiter(id: id, continuation: continuation, timeout: timeout))
            }
        } onCancel: {
            Task { await self.failWaiter(id: id, error: CancellationError()) }
        }
    }

    private func failWaiter(id: Int, error: any Error) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        waiter.timeout.cancel()
        waiter.continuation.resume(throwing: error)
    }
}
