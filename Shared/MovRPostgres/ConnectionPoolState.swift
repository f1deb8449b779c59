/// The decisions of a bounded connection pool, as a value with no IO: what to do when a
/// connection is asked for, given back, opened, or fails to open, or when a waiter gives up.
/// The driver (``ConnectionPool``) performs the actions it returns; tests drive it directly.
///
/// A connection handed out by ``lease(now:waiter:expired:)`` is no longer in the state until
/// ``release(_:openedAt:reusable:now:)``: the state never hands the same connection to two
/// holders.
///
/// A caller that finds no idle connection always waits in line; the pool opens connections for
/// the line, at most ``Limits/maxConnecting`` at a time, and whichever comes first goes to the
/// first caller waiting: a connection given back or a newly opened one. A statement takes a
/// fraction of a millisecond and opening a connection several (a server process, password
/// authentication), so after a lull a burst is served by the connections that come back while
/// the pool grows a connection or two at a time, instead of every caller paying for an opening
/// and a dozen openings competing for the CPU at once.
struct ConnectionPoolState<Connection, Waiter> {
    struct Limits {
        var size: Int
        /// Connections being opened at once.
        var maxConnecting: Int = 2
        var idleTimeout: Duration
        var maxLifetime: Duration
    }

    struct Idle {
        var connection: Connection
        var openedAt: ContinuousClock.Instant
        var lastUsed: ContinuousClock.Instant
    }

    enum LeaseAction {
        /// Use this idle connection (the driver checks its health first).
        case use(Connection)
        /// Wait in line (queued under `id`); with `open`, a slot was reserved and the driver
        /// opens a connection for the line (``opened(_:openedAt:now:)`` or ``openFailed()`` when done).
        case wait(id: Int, open: Bool)
        case closed
    }

    enum ReleaseAction {
        /// Give the connection to this waiter.
        case handOver(Waiter)
        /// Kept idle.
        case keep
        /// Close it; with `open`, open a connection for the line in its place.
        case close(open: Bool)
    }

    enum OpenedAction {
        /// Give the new connection to this waiter.
        case handOver(Waiter)
        /// Kept idle (nobody is waiting any more).
        case keep
        /// Close it: the pool was closed meanwhile.
        case close
    }

    let limits: Limits
    private(set) var idle: [Idle] = []
    /// Open plus being-opened connections; never exceeds `limits.size`.
    private(set) var reserved = 0
    /// Connections being opened; never exceeds `limits.maxConnecting`.
    private(set) var connecting = 0
    private(set) var waiters: [(id: Int, waiter: Waiter)] = []
    private var nextWaiterID = 0
    private(set) var isClosed = false

    init(limits: Limits) {
        self.limits = limits
    }

    /// Asks for a connection. Idle connections past their idle timeout or lifetime are
    /// returned in `expired` for the driver to close (their slots are already freed).
    mutating func lease(now: ContinuousClock.Instant, waiter: @autoclosure () -> Waiter,
                        expired: inout [Connection]) -> LeaseAction {
        guard !isClosed else { return .closed }
        while let candidate = idle.popLast() {
            if now - candidate.lastUsed > limits.idleTimeout || now - candidate.openedAt > limits.maxLifetime {
                reserved -= 1
                expired.append(candidate.connection)
                continue
            }
            return .use(candidate.connection)
        }
        nextWaiterID += 1
        waiters.append((nextWaiterID, waiter()))
        return .wait(id: nextWaiterID, open: reserveOpening())
    }

    /// A connection comes back; `reusable` is the driver's health check.
    mutating func release(_ connection: Connection, openedAt: ContinuousClock.Instant, reusable: Bool,
                          now: ContinuousClock.Instant) -> ReleaseAction {
        guard !isClosed, reusable, now - openedAt <= limits.maxLifetime else {
            reserved -= 1
            return .close(open: reserveOpening())
        }
        if !waiters.isEmpty {
            return .handOver(waiters.removeFirst().waiter)
        }
        idle.append(Idle(connection: connection, openedAt: openedAt, lastUsed: now))
        return .keep
    }

    /// A connection the driver was opening is ready; its lifetime counts from `openedAt`.
    /// `openAnother`: the line is still longer than the openings under way, so the driver opens
    /// one more.
    mutating func opened(_ connection: Connection, openedAt: ContinuousClock.Instant, now: ContinuousClock.Instant)
        -> (action: OpenedAction, openAnother: Bool) {
        connecting -= 1
        guard !isClosed else {
            reserved -= 1
            return (.close, false)
        }
        guard !waiters.isEmpty else {
            idle.append(Idle(connection: connection, openedAt: openedAt, lastUsed: now))
            return (.keep, false)
        }
        let waiter = waiters.removeFirst().waiter
        return (.handOver(waiter), reserveOpening())
    }

    /// Opening a connection failed. The first waiter gets the error (as the caller that opened
    /// it would); when the pool then holds no connection at all, none will come back to the
    /// others, and they get it too. `openAnother` as in ``opened(_:openedAt:now:)``.
    mutating func openFailed() -> (failed: [Waiter], openAnother: Bool) {
        connecting -= 1
        reserved -= 1
        guard !isClosed, !waiters.isEmpty else { return ([], false) }
        var failed = [waiters.removeFirst().waiter]
        if reserved == 0 {
            failed += waiters.map(\.waiter)
            waiters = []
        }
        return (failed, reserveOpening())
    }

    /// A leased connection is gone (unhealthy on checkout). Returns true when the driver opens
    /// a connection for the line in its place.
    mutating func retire() -> Bool {
        reserved -= 1
        return reserveOpening()
    }

    /// Removes waiter `id` if it is still queued (its deadline passed, or it was cancelled).
    mutating func removeWaiter(id: Int) -> Waiter? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: index).waiter
    }

    /// Closes the pool: returns idle connections to close and waiters to fail.
    mutating func close() -> (idle: [Connection], waiters: [Waiter]) {
        isClosed = true
        let connections = idle.map(\.connection)
        reserved -= idle.count
        idle = []
        let waiting = waiters.map(\.waiter)
        waiters = []
        return (connections, waiting)
    }

    /// Reserves a slot for one more opening when the line is longer than the openings under
    /// way and both limits allow it.
    private mutating func reserveOpening() -> Bool {
        guard !isClosed, waiters.count > connecting, reserved < limits.size,
              connecting < limits.maxConnecting else { return false }
        reserved += 1
        connecting += 1
        return true
    }
}

extension ConnectionPoolState: Sendable where Connection: Sendable, Waiter: Sendable {}
extension ConnectionPoolState.Idle: Sendable where Connection: Sendable {}
extension ConnectionPoolState.Limits: Sendable {}
