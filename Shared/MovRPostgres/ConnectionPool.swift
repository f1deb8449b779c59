import Logging
import MovRPool
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A bounded pool of `PostgresConnection`s: ``ConnectionPoolState`` decides, this class acts.
///
/// A caller that finds no idle connection waits in line, first-in first-out, and gives up after
/// `poolTimeoutSeconds` (a timer on an event loop, no task per waiter) or as soon as its task is
/// cancelled (`PostgresError.cancelled`); the pool opens
/// connections for the line in the background, two at a time, and the first caller waiting gets
/// whichever comes first, a connection given back or a new one. Idle connections are
/// health-checked without a round trip on checkout; connections returned broken or inside a
/// transaction are discarded, and so are connections past their idle timeout or lifetime. The
/// state sits behind a lock, not in an actor, so a lease costs no hop to another executor.
final class ConnectionPool: Sendable {
    /// Counters for tests and metrics.
    struct Statistics: Sendable {
        var open: Int
        var idle: Int
        var waiting: Int
        var peakOpen: Int
        var peakConnecting: Int
        var opened: Int
        var discarded: Int
    }

    private typealias Waiter = CheckedContinuation<PoolEntry, any Error>

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
            openDelay: Self.openDelay(milliseconds: configuration.poolOpenDelayMilliseconds),
            idleTimeout: .milliseconds(Self.milliseconds(configuration.idleTimeoutSeconds)),
            maxLifetime: .milliseconds(Self.milliseconds(configuration.maxLifetimeSeconds)))
        locked = NIOLockedValueBox(Locked(state: ConnectionPoolState(limits: limits)))
    }

    var currentStatistics: Statistics {
        locked.withLockedValue { locked in
            Statistics(open: locked.state.reserved, idle: locked.state.idle.count, waiting: locked.state.waiters.count,
                       peakOpen: locked.peakOpen, peakConnecting: locked.state.peakConnecting, opened: locked.opened, discarded: locked.discarded)
        }
    }

    func lease() async throws -> PoolEntry {
        while true {
            let entry = try await acquire()
            if entry.connection.isReusableAtCheckout() { return entry }
            discard(entry, reason: "unhealthy on checkout")
        }
    }

    func release(_ entry: PoolEntry) {
        let reusable = entry.connection.isReusable()
        let action = locked.withLockedValue {
            $0.state.release(entry, openedAt: entry.lifetimeStart, reusable: reusable, now: .now)
        }
        switch action {
        case .keep:
            break
        case .handOver(let waiter):
            waiter.resume(returning: entry)
        case .close(let open):
            closeDiscarded(entry, reason: reusable ? "lifetime over or pool closed" : "unhealthy on release")
            if open { openForTheLine() }
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

    /// The open delay, total for any Double: negative and NaN mean none, anything beyond a
    /// minute means a minute.
    static func openDelay(milliseconds: Double) -> Duration {
        guard milliseconds > 0 else { return .zero }
        return .microseconds(Int64(min(milliseconds, 60_000) * 1000))
    }

    private func acquire() async throws -> PoolEntry {
        var expired: [PoolEntry] = []
        // The common case first, without a continuation or a cancellation handler: an idle
        // connection.
        let idle = locked.withLockedValue { $0.state.takeIdleConnection(now: .now, expired: &expired) }
        if let idle {
            for connection in expired { closeDiscarded(connection, reason: "idle timeout or lifetime over") }
            return idle
        }
        // Taken out of the line by its timeout or by its task's cancellation (its caller went
        // away or its deadline passed), whichever comes first; either may run before it is queued.
        let ticket = PoolWaitTicket<PostgresError>()
        // The waiter is enqueued (or not) under the lock, inside the continuation, so a release
        // between the decision and the wait cannot be missed.
        let entry: PoolEntry = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: Waiter) in
                let action = locked.withLockedValue { $0.state.lease(now: .now, waiter: continuation, expired: &expired) }
                switch action {
                case .use(let connection):
                    continuation.resume(returning: connection)
                case .closed:
                    continuation.resume(throwing: PostgresError(code: .poolClosed))
                case .wait(let id, let open, let recheckAfter):
                    let timeout = TimeAmount.milliseconds(Self.milliseconds(configuration.poolTimeoutSeconds))
                    timerLoop.scheduleTask(in: timeout) { [self] in
                        abandon(ticket, PostgresError(code: .poolTimeout))
                    }
                    if open { openForTheLine() }
                    if let recheckAfter { scheduleRecheck(after: recheckAfter) }
                    if let failure = ticket.queued(id),
                       let waiter = locked.withLockedValue({ $0.state.removeWaiter(id: id) }) {
                        waiter.resume(throwing: failure)
                    }
                }
            }
        } onCancel: {
            abandon(ticket, PostgresError(code: .cancelled))
        }
        for connection in expired { closeDiscarded(connection, reason: "idle timeout or lifetime over") }
        return entry
    }

    /// Fails a waiter that is still in line (its timeout passed, or its task was cancelled).
    private func abandon(_ ticket: PoolWaitTicket<PostgresError>, _ failure: PostgresError) {
        guard let id = ticket.abandon(failure),
              let waiter = locked.withLockedValue({ $0.state.removeWaiter(id: id) }) else { return }
        waiter.resume(throwing: failure)
    }

    /// Callers have waited in line for a while (``PostgresConfiguration/poolOpenDelayMilliseconds``):
    /// opens connections for those still waiting as long as the delay, and looks again while
    /// anyone waits.
    private func scheduleRecheck(after delay: Duration) {
        timerLoop.scheduleTask(in: TimeAmount(delay)) { [self] in
            let (openings, again) = locked.withLockedValue { $0.state.recheck(now: .now) }
            for _ in 0..<openings { openForTheLine() }
            if let again { scheduleRecheck(after: again) }
        }
    }

    /// Opens connections until `count` are idle (within the pool's size), all at once and
    /// before any call needs them (a service's start). Returns how many are idle.
    func warm(connections count: Int) async -> Int {
        var expired: [PoolEntry] = []
        let openings = locked.withLockedValue {
            $0.state.reserveWarmOpenings(upTo: count, now: .now, expired: &expired)
        }
        for entry in expired { closeDiscarded(entry, reason: "idle timeout or lifetime over") }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<openings {
                group.addTask { [self] in
                    do {
                        let entry = try await open()
                        locked.withLockedValue { $0.state.openedForWarming() }
                        release(entry)
                    } catch {
                        if openingFailed(error) { openForTheLine() }
                    }
                }
            }
        }
        return locked.withLockedValue { $0.state.idle.count }
    }

    /// Opens a connection for a slot the state reserved, in the background: it goes to the
    /// first caller still waiting (who may meanwhile have been given a connection that came
    /// back), or idle. A failure goes to the first caller waiting (to all of them when the pool
    /// holds no connection). Connect and authentication run on the thread pool.
    private func openForTheLine() {
        // Detached: the opening belongs to the pool, not to the caller whose lease started it.
        Task.detached { [self] in
            let another: Bool
            do {
                let entry = try await open()
                let (action, openAnother) = locked.withLockedValue { locked in
                    locked.state.opened(entry, openedAt: entry.lifetimeStart, now: .now)
                }
                switch action {
                case .handOver(let waiter): waiter.resume(returning: entry)
                case .keep: break
                case .close: await entry.connection.close()
                }
                another = openAnother
            } catch {
                another = openingFailed(error)
            }
            if another { openForTheLine() }
        }
    }

    /// Connects (on the thread pool) for a slot the state reserved; its lifetime starts up to a
    /// tenth of the maximum later, so connections opened together do not all retire together.
    private func open() async throws -> PoolEntry {
        let id = locked.withLockedValue { locked -> Int in
            locked.nextConnectionID += 1
            return locked.nextConnectionID
        }
        let connection = try await PostgresConnection.connect(
            id: id, configuration: configuration, threadPool: threadPool, readiness: readiness, logger: logger)
        let spread = Self.milliseconds(configuration.maxLifetimeSeconds) / 10
        locked.withLockedValue { locked in
            locked.opened += 1
            locked.peakOpen = max(locked.peakOpen, locked.state.reserved)
        }
        return PoolEntry(connection: connection, lifetimeStart: connection.openedAt + .milliseconds(Int64.random(in: 0...spread)))
    }

    /// An opening failed: the first caller waiting gets the error (all of them when the pool
    /// holds no connection). Returns true when another opening is due.
    private func openingFailed(_ error: any Error) -> Bool {
        let (failed, openAnother) = locked.withLockedValue { $0.state.openFailed() }
        // With nobody waiting, nobody else reports it (unless the pool was closed).
        if failed.isEmpty, (error as? PostgresError)?.code != .poolClosed {
            logger.warning("opening a pooled connection failed", metadata: ["error": "\(error)"])
        }
        for waiter in failed { waiter.resume(throwing: error) }
        return openAnother
    }

    /// Drops a leased connection; the line may get an opening in its place.
    private func discard(_ entry: PoolEntry, reason: String) {
        let open = locked.withLockedValue { $0.state.retire() }
        closeDiscarded(entry, reason: reason)
        if open { openForTheLine() }
    }

    /// Closes a connection whose slot the state has already freed.
    private func closeDiscarded(_ entry: PoolEntry, reason: String) {
        logger.debug("discarding connection", metadata: ["db.connection": "\(entry.connection.id)", "reason": "\(reason)"])
        locked.withLockedValue { $0.discarded += 1 }
        Task { await entry.connection.close() }
    }
}
