import Testing

@testable import MovRPostgres

/// The pool's decisions without IO: connections and waiters are plain integers here.
@Suite struct ConnectionPoolStateTests {
    typealias State = ConnectionPoolState<Int, String>
    let t0 = ContinuousClock.now

    func makeState(size: Int = 2, idle: Duration = .seconds(60), lifetime: Duration = .seconds(600)) -> State {
        State(limits: .init(size: size, idleTimeout: idle, maxLifetime: lifetime))
    }

    @Test func opensUpToTheSizeThenQueuesWaitersInOrder() {
        var state = makeState()
        var expired: [Int] = []
        guard case .open = state.lease(now: t0, waiter: "a", expired: &expired),
              case .open = state.lease(now: t0, waiter: "b", expired: &expired),
              case .wait(let first) = state.lease(now: t0, waiter: "c", expired: &expired),
              case .wait(let second) = state.lease(now: t0, waiter: "d", expired: &expired)
        else { Issue.record("unexpected lease actions"); return }
        #expect(first < second && state.reserved == 2 && state.waiters.count == 2)
        // Released connections go to the waiters, oldest first.
        guard case .handOver("c") = state.release(1, openedAt: t0, reusable: true, now: t0),
              case .handOver("d") = state.release(2, openedAt: t0, reusable: true, now: t0),
              case .keep = state.release(1, openedAt: t0, reusable: true, now: t0)
        else { Issue.record("unexpected release actions"); return }
        #expect(state.idle.map(\.connection) == [1] && state.reserved == 2)
    }

    @Test func aBrokenConnectionPassesItsSlotToTheNextWaiter() {
        var state = makeState(size: 1)
        var expired: [Int] = []
        _ = state.lease(now: t0, waiter: "a", expired: &expired)
        _ = state.lease(now: t0, waiter: "b", expired: &expired)
        guard case .close(grantSlotTo: "b") = state.release(1, openedAt: t0, reusable: false, now: t0) else {
            Issue.record("the waiter should get the slot"); return
        }
        #expect(state.reserved == 1)  // the slot moved to "b", which opens a connection
        #expect(state.freeSlot() == nil && state.reserved == 0)  // ...and whose open failed
    }

    @Test func idleAndOldConnectionsAreRetired() {
        var state = makeState(size: 2, idle: .seconds(10), lifetime: .seconds(100))
        var expired: [Int] = []
        _ = state.lease(now: t0, waiter: "a", expired: &expired)
        #expect({ if case .keep = state.release(7, openedAt: t0, reusable: true, now: t0) { true } else { false } }())
        // Idle past its timeout: closed on the next lease, which opens a fresh one instead.
        guard case .open = state.lease(now: t0 + .seconds(11), waiter: "b", expired: &expired) else {
            Issue.record("expected a new connection"); return
        }
        #expect(expired == [7] && state.reserved == 1)
        // Past its lifetime: closed when it comes back, even if healthy.
        guard case .close(grantSlotTo: nil) = state.release(8, openedAt: t0, reusable: true, now: t0 + .seconds(101)) else {
            Issue.record("expected the old connection to close"); return
        }
        #expect(state.reserved == 0)
    }

    @Test func waitersCanGiveUpAndClosingFailsTheRest() {
        var state = makeState(size: 1)
        var expired: [Int] = []
        _ = state.lease(now: t0, waiter: "a", expired: &expired)
        guard case .wait(let id) = state.lease(now: t0, waiter: "b", expired: &expired),
              case .wait = state.lease(now: t0, waiter: "c", expired: &expired)
        else { Issue.record("expected waiters"); return }
        #expect(state.removeWaiter(id: id) == "b")
        #expect(state.removeWaiter(id: id) == nil)  // a timeout racing a hand-over finds nothing
        let (idle, waiters) = state.close()
        #expect(idle.isEmpty && waiters == ["c"])
        #expect({ if case .closed = state.lease(now: t0, waiter: "d", expired: &expired) { true } else { false } }())
        guard case .close = state.release(1, openedAt: t0, reusable: true, now: t0) else {
            Issue.record("connections coming back after close are closed"); return
        }
    }

    /// Random leases and releases: a connection is never held twice, and the count of slots
    /// always equals held + idle + slots being opened.
    @Test func neverHandsOutAConnectionTwice() {
        var state = makeState(size: 3)
        var held: Set<Int> = []
        var pendingOpens = 0
        var nextConnection = 0
        var waiting: [String] = []
        var generator = SystemRandomNumberGenerator()
        for step in 0..<5000 {
            var expired: [Int] = []
            if Bool.random(using: &generator) || held.isEmpty {
                switch state.lease(now: t0, waiter: "w\(step)", expired: &expired) {
                case .use(let connection):
                    #expect(!held.contains(connection)); held.insert(connection)
                case .open: pendingOpens += 1
                case .wait: waiting.append("w\(step)")
                case .closed: Issue.record("not closed")
                }
            } else if pendingOpens > 0, Bool.random(using: &generator) {
                pendingOpens -= 1
                nextConnection += 1
                held.insert(nextConnection)
            } else if let connection = held.randomElement(using: &generator) {
                held.remove(connection)
                switch state.release(connection, openedAt: t0, reusable: Int.random(in: 0..<10, using: &generator) > 0, now: t0) {
                case .handOver(let waiter):
                    #expect(waiting.first == waiter); waiting.removeFirst(); held.insert(connection)
                case .keep: break
                case .close(let waiter):
                    if let waiter { #expect(waiting.first == waiter); waiting.removeFirst(); pendingOpens += 1 }
                }
            }
            #expect(state.reserved == held.count + state.idle.count + pendingOpens)
            #expect(state.reserved <= 3)
            #expect(Set(state.idle.map(\.connection)).isDisjoint(with: held))
        }
    }
}
