/// The decisions of a bounded connection pool, as a value with no IO: what to do when a
/// connection is asked for, given back, fails to open, or a waiter gives up. The driver
/// (``ConnectionPool``) performs the actions it returns; tests drive it directly.
///
/// A connection handed out by ``lease(now:)`` is no longer in the state until ``release``:
/// the state never hands the same connection to two holders.
struct ConnectionPoolState<Connection, Waiter> {
    struct Limits {
        var size: Int
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
        /// A slot was reserved: open a new connection.
        case open
        /// Saturated: wait (the waiter was queued under `id`).
        case wait(id: Int)
        case closed
    }

    enum ReleaseAction {
        /// Give the connection to this waiter.
        case handOver(Waiter)
        /// Kept idle.
        case keep
        /// Close it; if a waiter is given, it may open a connection in the freed slot.
        case close(grantSlotTo: Waiter?)
    }

    let limits: Limits
    private(set) var idle: [Idle] = []
    /// Open plus being-opened connections; never exceeds `limits.size`.
    private(set) var reserved = 0
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
        if waiters.isEmpty, reserved < limits.size {
            reserved += 1
            return .open
        }
        nextWaiterID += 1
        waiters.append((nextWaiterID, waiter()))
        return .wait(id: nextWaiterID)
    }

    /// A connection comes back; `reusable` is the driver's health check.
    mutating func release(_ connection: Connection, openedAt: ContinuousClock.Instant, reusable: Bool,
                          now: ContinuousClock.Instant) -> ReleaseAction {
        guard !isClosed, reusable, now - openedAt <= limits.maxLifetime else {
            return .close(grantSlotTo: freeSlot())
        }
        if !waiters.isEmpty {
            return .handOver(waiters.removeFirst().waiter)
        }
        idle.append(Idle(connection: connection, openedAt: openedAt, lastUsed: now))
        return .keep
    }

    /// A leased or being-opened connection is gone (open failed, or it was unhealthy on
    /// checkout); returns the waiter that may open one in its place.
    mutating func freeSlot() -> Waiter? {
        if !isClosed, !waiters.isEmpty {
            return waiters.removeFirst().waiter  // the slot passes to the waiter
        }
        reserved -= 1
        return nil
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
}

extension ConnectionPoolState: Sendable where Connection: Sendable, Waiter: Sendable {}
extension ConnectionPoolState.Idle: Sendable where Connection: Sendable {}
extension ConnectionPoolState.Limits: Sendable {}
