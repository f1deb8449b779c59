/// The decisions of a bounded connection pool, as a value with no IO: what to do when a
/// connection is asked for, given back, opened, or fails to open, or when a waiter gives up.
/// A driver performs the actions it returns (MovRPostgres's pool of libpq connections, and
/// MovRRPCTransport's `RPCClient` pool of TLS connections to one peer); tests drive it directly.
///
/// A connection handed out by ``lease(now:waiter:expired:)`` is no longer in the state until
/// ``release(_:openedAt:reusable:now:)``: the state never hands the same connection to two
/// holders.
///
/// A caller that finds no idle connection always waits in line; the pool opens connections for
/// the line, at most ``Limits/maxConnecting`` at a time, and whichever comes first goes to the
/// first caller waiting: a connection given back or a newly opened one. A statement takes a
/// fraction of a millisecond and opening a connection several (a database server process and
/// password authentication; a TLS handshake), so after a lull a burst is served by the
/// connections that come back while the pool grows a connection or two at a time, instead of
/// every caller paying for an opening and a dozen openings competing for the CPU at once.
///
/// With ``Limits/openDelay``, the pool also waits before it opens: only callers that have
/// waited that long count toward an opening (unless no connection is open that could come
/// back), and the driver looks again when ``LeaseAction/wait(id:open:recheckAfter:)`` or
/// ``recheck(now:)`` tells it to. Waiting about as long as an opening costs before paying for
/// one keeps a step in load, served in a fraction of a millisecond by connections that come
/// back, from growing the pool by openings that compete with it for the CPU; a line that
/// lasts longer than that is real demand, and the pool grows as before.
public struct ConnectionPoolState<Connection, Waiter> {
    public struct Limits {
        public var size: Int
        /// Connections being opened at once.
        public var maxConnecting: Int
        /// How long a caller waits in line for a connection to come back before the pool opens
        /// one for it; zero: at once.
        public var openDelay: Duration
        public var idleTimeout: Duration
        public var maxLifetime: Duration

        @inlinable public init(size: Int, maxConnecting: Int = 2, openDelay: Duration = .zero, idleTimeout: Duration,
                               maxLifetime: Duration = .seconds(Int64.max)) {
            self.size = size
            self.maxConnecting = maxConnecting
            self.openDelay = openDelay
            self.idleTimeout = idleTimeout
            self.maxLifetime = maxLifetime
        }
    }

    public struct Idle {
        public var connection: Connection
        public var openedAt: ContinuousClock.Instant
        public var lastUsed: ContinuousClock.Instant

        @inlinable init(connection: Connection, openedAt: ContinuousClock.Instant, lastUsed: ContinuousClock.Instant) {
            self.connection = connection
            self.openedAt = openedAt
            self.lastUsed = lastUsed
        }
    }

    public enum LeaseAction {
        /// Use this idle connection (the driver checks its health first).
        case use(Connection)
        /// Wait in line (queued under `id`); with `open`, a slot was reserved and the driver
        /// opens a connection for the line (``opened(_:openedAt:now:)`` or ``openFailed()`` when done);
        /// with `recheckAfter`, the driver calls ``recheck(now:)`` that much later.
        case wait(id: Int, open: Bool, recheckAfter: Duration?)
        case closed
    }

    public enum ReleaseAction {
        /// Give the connection to this waiter.
        case handOver(Waiter)
        /// Kept idle.
        case keep
        /// Close it; with `open`, open a connection for the line in its place.
        case close(open: Bool)
    }

    public enum OpenedAction {
        /// Give the new connection to this waiter.
        case handOver(Waiter)
        /// Kept idle (nobody is waiting any more).
        case keep
        /// Close it: the pool was closed meanwhile.
        case close
    }

    public let limits: Limits
    // Stored internally and read through the public properties below, so the methods can be
    // inlined into the drivers (specialized for their connection types: the RPC client leases
    // for every call).
    @usableFromInline var _idle: [Idle] = []
    @usableFromInline var _reserved = 0
    @usableFromInline var _connecting = 0
    @usableFromInline var _waiters: [(id: Int, waiter: Waiter, since: ContinuousClock.Instant)] = []
    @usableFromInline var _recheckPending = false
    @usableFromInline var _nextWaiterID = 0
    @usableFromInline var _isClosed = false
    @usableFromInline var _peakConnecting = 0
    @usableFromInline var _openingsStarted = 0

    /// Idle connections, most recently given back last.
    public var idle: [Idle] { _idle }
    /// Open plus being-opened connections; never exceeds `limits.size`.
    public var reserved: Int { _reserved }
    /// Connections being opened; never exceeds `limits.maxConnecting` (except while warming,
    /// ``reserveWarmOpenings(upTo:now:expired:isUsable:)``).
    public var connecting: Int { _connecting }
    public var waiters: [(id: Int, waiter: Waiter, since: ContinuousClock.Instant)] { _waiters }
    public var isClosed: Bool { _isClosed }
    /// The most openings ever under way at once, and how many were ever started.
    public var peakConnecting: Int { _peakConnecting }
    public var openingsStarted: Int { _openingsStarted }

    @inlinable public init(limits: Limits) {
        self.limits = limits
    }

    /// Asks for a connection: an idle one (``takeIdleConnection(now:expired:isUsable:prefers:)``),
    /// else a place in line, with an opening for the line when the limits allow one.
    @inlinable public mutating func lease(now: ContinuousClock.Instant, waiter: @autoclosure () -> Waiter,
                               expired: inout [Connection],
                               isUsable: (Connection) -> Bool = { _ in true },
                               prefers: (Connection) -> Bool = { _ in true }) -> LeaseAction {
        guard !_isClosed else { return .closed }
        if let connection = takeIdleConnection(now: now, expired: &expired, isUsable: isUsable, prefers: prefers) {
            return .use(connection)
        }
        _nextWaiterID += 1
        _waiters.append((_nextWaiterID, waiter(), now))
        let open = reserveOpening(now: now)
        return .wait(id: _nextWaiterID, open: open, recheckAfter: armRecheck(now: now))
    }

    /// The driver's timer from ``LeaseAction/wait(id:open:recheckAfter:)`` (or from the last
    /// recheck) fired: reserves openings for the callers that have now waited ``Limits/openDelay``
    /// (the driver makes `openings` of them) and says when to look again while anyone waits.
    @inlinable public mutating func recheck(now: ContinuousClock.Instant) -> (openings: Int, recheckAfter: Duration?) {
        _recheckPending = false
        var openings = 0
        while reserveOpening(now: now) { openings += 1 }
        return (openings, armRecheck(now: now))
    }

    /// The most recently given back idle connection that `prefers` accepts, else the most
    /// recently given back of the others (a driver prefers, say, connections on the caller's
    /// event loop; by default every connection is preferred); nil when none is idle, or the
    /// pool is closed. Idle connections past their idle timeout or lifetime, or that `isUsable`
    /// refuses (closed by the peer), go to `expired` for the driver to close (their slots are
    /// freed); the scan stops at the first preferred connection. Allocates nothing beyond what
    /// `expired` holds: a driver calls it for every call before it makes a waiter.
    @inlinable public mutating func takeIdleConnection(now: ContinuousClock.Instant, expired: inout [Connection],
                                            isUsable: (Connection) -> Bool = { _ in true },
                                            prefers: (Connection) -> Bool = { _ in true }) -> Connection? {
        guard !_isClosed else { return nil }
        var other: Int?
        var index = _idle.count - 1
        while index >= 0 {
            let candidate = _idle[index]
            if now - candidate.lastUsed > limits.idleTimeout || now - candidate.openedAt > limits.maxLifetime
                || !isUsable(candidate.connection) {
                _idle.remove(at: index)
                _reserved -= 1
                expired.append(candidate.connection)
                if let found = other { other = found - 1 }  // it sat above this one
            } else if prefers(candidate.connection) {
                return _idle.remove(at: index).connection
            } else if other == nil {
                other = index
            }
            index -= 1
        }
        return other.map { _idle.remove(at: $0).connection }
    }

    /// A connection comes back; `reusable` is the driver's health check.
    @inlinable public mutating func release(_ connection: Connection, openedAt: ContinuousClock.Instant, reusable: Bool,
                          now: ContinuousClock.Instant) -> ReleaseAction {
        guard !_isClosed, reusable, now - openedAt <= limits.maxLifetime else {
            _reserved -= 1
            return .close(open: reserveOpening(now: now))
        }
        if !_waiters.isEmpty {
            return .handOver(_waiters.removeFirst().waiter)
        }
        _idle.append(Idle(connection: connection, openedAt: openedAt, lastUsed: now))
        return .keep
    }

    /// A connection the driver was opening is ready; its lifetime counts from `openedAt`.
    /// `openAnother`: the line is still longer than the openings under way, so the driver opens
    /// one more.
    @inlinable public mutating func opened(_ connection: Connection, openedAt: ContinuousClock.Instant, now: ContinuousClock.Instant)
        -> (action: OpenedAction, openAnother: Bool) {
        _connecting -= 1
        guard !_isClosed else {
            _reserved -= 1
            return (.close, false)
        }
        guard !_waiters.isEmpty else {
            _idle.append(Idle(connection: connection, openedAt: openedAt, lastUsed: now))
            return (.keep, false)
        }
        let waiter = _waiters.removeFirst().waiter
        return (.handOver(waiter), reserveOpening(now: now))
    }

    /// Opening a connection failed. The first waiter gets the error (as the caller that opened
    /// it would); when the pool then holds no connection at all, none will come back to the
    /// others, and they get it too. `openAnother` as in ``opened(_:openedAt:now:)``.
    @inlinable public mutating func openFailed(now: ContinuousClock.Instant = .now) -> (failed: [Waiter], openAnother: Bool) {
        _connecting -= 1
        _reserved -= 1
        guard !_isClosed, !_waiters.isEmpty else { return ([], false) }
        var failed = [_waiters.removeFirst().waiter]
        if _reserved == 0 {
            failed += _waiters.map(\.waiter)
            _waiters = []
        }
        return (failed, reserveOpening(now: now))
    }

    /// A leased connection is gone (unhealthy on checkout). Returns true when the driver opens
    /// a connection for the line in its place.
    @inlinable public mutating func retire(now: ContinuousClock.Instant = .now) -> Bool {
        _reserved -= 1
        return reserveOpening(now: now)
    }

    /// Removes waiter `id` if it is still queued (its deadline passed, or it was cancelled).
    @inlinable public mutating func removeWaiter(id: Int) -> Waiter? {
        guard let index = _waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return _waiters.remove(at: index).waiter
    }

    /// Closes the pool: returns idle connections to close and waiters to fail.
    @inlinable public mutating func close() -> (idle: [Connection], waiters: [Waiter]) {
        _isClosed = true
        let connections = _idle.map(\.connection)
        _reserved -= _idle.count
        _idle = []
        let waiting = _waiters.map(\.waiter)
        _waiters = []
        return (connections, waiting)
    }

    /// An opening reserved by ``reserveWarmOpenings(upTo:)`` succeeded: the connection is
    /// the warming driver's, as if leased (it gives it back with ``release(_:openedAt:reusable:now:)``).
    @inlinable public mutating func openedForWarming() {
        _connecting -= 1
    }

    /// Warming before any load: reserves openings until `count` connections would be idle,
    /// within the size but not `maxConnecting` (nobody is waiting on them yet). Idle connections
    /// that a lease would pass over are returned in `expired` first (their slots freed), so they
    /// are replaced instead of counted. Returns how many openings the driver must make; each
    /// ends in ``openedForWarming()`` or ``openFailed()``.
    @inlinable public mutating func reserveWarmOpenings(upTo count: Int, now: ContinuousClock.Instant, expired: inout [Connection],
                                             isUsable: (Connection) -> Bool = { _ in true }) -> Int {
        guard !_isClosed else { return 0 }
        let limits = self.limits
        let stale = takeIdle { candidate in
            now - candidate.lastUsed > limits.idleTimeout || now - candidate.openedAt > limits.maxLifetime
                || !isUsable(candidate.connection)
        }
        _reserved -= stale.count
        expired += stale.map(\.connection)
        let wanted = min(count - _idle.count, limits.size - _reserved)
        guard wanted > 0 else { return 0 }
        for _ in 0..<wanted { startOpening() }
        return wanted
    }

    /// Takes the idle connections `where` selects out of the pool (still counted as open, as
    /// leased ones are): a driver refreshing them gives each back with
    /// ``release(_:openedAt:reusable:now:)`` (or ``retire()`` when it drops one).
    @inlinable public mutating func takeIdle(where selects: (Idle) -> Bool) -> [Idle] {
        var taken: [Idle] = []
        _idle.removeAll { candidate in
            guard selects(candidate) else { return false }
            taken.append(candidate)
            return true
        }
        return taken
    }

    /// Reserves a slot for one more opening when the callers due one (``dueWaiters(now:)``)
    /// outnumber the openings under way and both limits allow it.
    @usableFromInline mutating func reserveOpening(now: ContinuousClock.Instant) -> Bool {
        guard !_isClosed, _waiters.count > _connecting, _reserved < limits.size,
              _connecting < limits.maxConnecting, dueWaiters(now: now) > _connecting else { return false }
        startOpening()
        return true
    }

    /// Callers in line an opening is due for: all of them without an open delay, or when no
    /// open connection could come back to them (every reserved slot is an opening); else those
    /// that have waited the delay (the line's oldest: it is first in, first out).
    @inlinable public func dueWaiters(now: ContinuousClock.Instant) -> Int {
        guard limits.openDelay > .zero, _reserved > _connecting else { return _waiters.count }
        var due = 0
        for entry in _waiters {
            guard now - entry.since >= limits.openDelay else { break }
            due += 1
        }
        return due
    }

    /// While callers wait with an open delay, one recheck is always pending: armed here when
    /// none is, for when the first caller not yet due will be (at most the delay from now).
    @usableFromInline mutating func armRecheck(now: ContinuousClock.Instant) -> Duration? {
        guard limits.openDelay > .zero, !_recheckPending, !_isClosed, !_waiters.isEmpty else { return nil }
        _recheckPending = true
        let delay = limits.openDelay
        let firstNotDue = _waiters.first { now - $0.since < delay }
        return firstNotDue.map { $0.since + delay - now } ?? delay
    }

    @usableFromInline mutating func startOpening() {
        _reserved += 1
        _connecting += 1
        _openingsStarted += 1
        _peakConnecting = max(_peakConnecting, _connecting)
    }
}

extension ConnectionPoolState: Sendable where Connection: Sendable, Waiter: Sendable {}
extension ConnectionPoolState.Idle: Sendable where Connection: Sendable {}
extension ConnectionPoolState.LeaseAction: Sendable where Connection: Sendable {}
extension ConnectionPoolState.ReleaseAction: Sendable where Waiter: Sendable {}
extension ConnectionPoolState.OpenedAction: Sendable where Waiter: Sendable {}
extension ConnectionPoolState.Limits: Sendable {}
