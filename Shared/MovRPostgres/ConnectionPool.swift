import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A bounded pool of `PostgresConnection`s: ``ConnectionPoolState`` decides, this class acts.
///
/// Waiters are served first-in first-out and give up after `poolTimeoutSeconds` (a timer on an
/// event loop, no task per waiter). Idle connections are health-checked without a round trip
/// on checkout; connections returned broken or inside a transaction are discarded, and so are
/// connections past their idle timeout or lifetime. The state sits behind a lock, not in an
/// actor, so a lease costs no hop to another executor.
final class ConnectionPool: Sendable {
    /// Counters for tests and metrics.
    struct Statistics: Sendable {
        var open: Int
        var idle: Int
        var waiting: Int
        var peakOpen: Int
        var opened: Int
        var discarded: Int
    }

    /// What a waiter is given: a connection, or the right to open one in a freed slot.
    private enum Grant: Sendable {
        case connection(PoolEntry)
        case slot
    }

    private typealias Waiter = CheckedContinuation<Grant, any Error>

    private struct Locked: Sendable {
        var state: ConnectionPoolState<PoolEntry, Waiter>
        var nextConnectionID = 0
        var peakOpen = 0
        var opened = 0
        var discarded = 0
    }

    private let configuration: PostgresConfiguration
    private let threadPool: NIOThreadPool
    private let readiness: SocketReadiness
    private let timerLoop: any EventLoop
    private let logger: Logger
    private let locked: NIOLockedValueBox<Locked>

    init(configuration: PostgresConfiguration, threadPool: NIOThreadPool, readiness: SocketReadiness, logger: Logger,
         timerLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()) {
        self.configuration = configuration
        self.threadPool = threadPool
        self.readiness = readiness
        self.timerLoop = timerLoop
        self.logger = logger
        let limits = ConnectionPoolState<PoolEntry, Waiter>.Limits(
            size: configuration.poolSize,
            idleTimeout: .milliseconds(Self.milliseconds(configuration.idleTimeoutSeconds)),
            maxLifetime: .milliseconds(Self.milliseconds(configuration.maxLifetimeSeconds)))
        locked = NIOLockedValueBox(Locked(state: ConnectionPoolState(limits: limits)))
    }

    var currentStatistics: Statistics {
        locked.withLockedValue { locked in
            Statistics(open: locked.state.reserved, idle: locked.state.idle.count, waiting: locked.state.waiters.count,
                       peakOpen: locked.peakOpen, opened: locked.opened, discarded: locked.discarded)
        }
    }

    func lease() async throws -> PoolEntry {
        while true {
            let grant = try await acquire()
            switch grant {
            case .connection(let entry):
                if entry.connection.isReusableAtCheckout() { return entry }
                discard(entry, reason: "unhealthy on checkout")
            case .slot:
                return try await openReserved()
            }
        }
    }

    func release(_ entry: PoolEntry) {
        let reusable = entry.connection.isReusable()
        let action = locked.withLockedValue {
            $0.state.release(entry, openedAt: entry.connection.openedAt, reusable: reusable, now: .now)
        }
        switch action {
        case .keep:
            break
        case .handOver(let waiter):
            waiter.resume(returning: .connection(entry))
        case .close(let waiter):
            closeDiscarded(entry, reason: reusable ? "lifetime over or pool closed" : "unhealthy on release")
            waiter?.resume(returning: .slot)
        }
    }

    func shutdown() async {
        let (idle, waiters) = locked.withLockedValue { $0.state.close() }
        for waiter in waiters { waiter.resume(throwing: PostgresError(code: .poolClosed)) }
        for entry in idle { await entry.connection.close() }
    }

    // MARK: Private

    /// A configured number of seconds as whole milliseconds, total for any Double: negative and
    /// NaN mean 0, anything beyond a year means a year.
    private static func milliseconds(_ seconds: Double) -> Int64 {
        guard seconds > 0 else { return 0 }
        return Int64(min(seconds, 86_400 * 365) * 1000)
    }

    private func acquire() async throws -> Grant {
        var expired: [PoolEntry] = []
        // The waiter is enqueued (or not) under the lock, inside the continuation, so a release
        // between the decision and the wait cannot be missed.
        let grant: Grant = try await withCheckedThrowingContinuation { (continuation: Waiter) in
            let action = locked.withLockedValue { $0.state.lease(now: .now, waiter: continuation, expired: &expired) }
            switch action {
            case .use(let connection):
                continuation.resume(returning: .connection(connection))
            case .open:
                continuation.resume(returning: .slot)
            case .closed:
                continuation.resume(throwing: PostgresError(code: .poolClosed))
            case .wait(let id):
                let timeout = TimeAmount.milliseconds(Self.milliseconds(configuration.poolTimeoutSeconds))
                timerLoop.scheduleTask(in: timeout) { [self] in
                    let waiter = locked.withLockedValue { $0.state.removeWaiter(id: id) }
                    waiter?.resume(throwing: PostgresError(code: .poolTimeout))
                }
            }
        }
        for connection in expired { closeDiscarded(connection, reason: "idle timeout or lifetime over") }
        return grant
    }

    /// Opens a connection for a slot already reserved in the state.
    private func openReserved() async throws -> PoolEntry {
        let id = locked.withLockedValue { locked -> Int in
            locked.nextConnectionID += 1
            return locked.nextConnectionID
        }
        do {
            let connection = try await PostgresConnection.connect(
                id: id, configuration: configuration, threadPool: threadPool, readiness: readiness, logger: logger)
            locked.withLockedValue { locked in
                locked.opened += 1
                locked.peakOpen = max(locked.peakOpen, locked.state.reserved)
            }
            return PoolEntry(connection: connection)
        } catch {
            let waiter = locked.withLockedValue { $0.state.freeSlot() }
            waiter?.resume(returning: .slot)
            throw error
        }
    }

    /// Drops a connection whose slot is still counted, passing the slot on.
    private func discard(_ entry: PoolEntry, reason: String) {
        let waiter = locked.withLockedValue { $0.state.freeSlot() }
        closeDiscarded(entry, reason: reason)
        waiter?.resume(returning: .slot)
    }

    /// Closes a connection whose slot the state has already freed.
    private func closeDiscarded(_ entry: PoolEntry, reason: String) {
        logger.debug("discarding connection", metadata: ["db.connection": "\(entry.connection.id)", "reason": "\(reason)"])
        locked.withLockedValue { $0.discarded += 1 }
        Task { await entry.connection.close() }
    }
}
