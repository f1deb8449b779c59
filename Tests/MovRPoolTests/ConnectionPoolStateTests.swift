import Testing

import MovRPool

/// The pool's decisions without IO: connections and waiters are plain integers and strings here.
@Suite struct ConnectionPoolStateTests {
    typealias State = ConnectionPoolState<Int, String>
    let t0 = ContinuousClock.now

    func makeState(size: Int = 2, idle: Duration = .seconds(60), lifetime: Duration = .seconds(600)) -> State {
        State(limits: .init(size: size, idleTimeout: idle, maxLifetime: lifetime))
    }

    /// The lease's action as (waits, opens), or nil for `use`/`closed`.
    func waiting(_ action: State.LeaseAction) -> (id: Int, open: Bool)? {
        if case .wait(let id, let open, _) = action { (id, open) } else { nil }
    }

    @Test func aBurstOnAnEmptyPoolOpensTwoAtATimeAndServesTheLineInOrder() {
        var state = makeState(size: 8)
        var expired: [Int] = []
        let actions = (0..<10).map { waiting(state.lease(now: t0, waiter: "w\($0)", expired: &expired)) }
        #expect(actions.map { $0?.open } == [true, true] + Array(repeating: false, count: 8))
        #expect(state.reserved == 2 && state.connecting == 2 && state.waiters.count == 10)
        // The first connection opened goes to the first caller in line, and the pool opens
        // another for the nine still waiting.
        guard case (.handOver("w0"), true) = state.opened(1, openedAt: t0, now: t0) else {
            Issue.record("the first opened connection should go to w0 and another opening start"); return
        }
        #expect(state.reserved == 3 && state.connecting == 2)
        // A connection given back goes to the next in line before any new one is ready.
        guard case .handOver("w1") = state.release(1, openedAt: t0, reusable: true, now: t0) else {
            Issue.record("the released connection should go to w1"); return
        }
        guard case (.handOver("w2"), true) = state.opened(2, openedAt: t0, now: t0) else {
            Issue.record("the second opened connection should go to w2"); return
        }
        #expect(state.reserved == 4 && state.connecting == 2 && state.waiters.map(\.waiter).first == "w3")
    }

    @Test func aConnectionOpenedForACallerWhoLeftGoesIdle() {
        var state = makeState()
        var expired: [Int] = []
        guard let (id, open) = waiting(state.lease(now: t0, waiter: "a", expired: &expired)), open else {
            Issue.record("expected a wait with an opening"); return
        }
        #expect(state.removeWaiter(id: id) == "a")  // its deadline passed
        #expect(state.removeWaiter(id: id) == nil)  // a timeout racing a hand-over finds nothing
        guard case (.keep, false) = state.opened(5, openedAt: t0, now: t0) else { Issue.record("expected keep"); return }
        guard case .use(5) = state.lease(now: t0, waiter: "b", expired: &expired) else {
            Issue.record("the idle connection should be used"); return
        }
        #expect(state.reserved == 1 && state.connecting == 0)
    }

    @Test func aBrokenConnectionIsReplacedForTheLine() {
        var state = makeState(size: 1)
        var expired: [Int] = []
        _ = state.lease(now: t0, waiter: "a", expired: &expired)
        _ = state.opened(1, openedAt: t0, now: t0)
        #expect(waiting(state.lease(now: t0, waiter: "b", expired: &expired))?.open == false)  // at the size
        guard case .close(open: true) = state.release(1, openedAt: t0, reusable: false, now: t0) else {
            Issue.record("the broken connection should close and one open in its place"); return
        }
        guard case (.handOver("b"), false) = state.opened(2, openedAt: t0, now: t0) else { Issue.record("b should get it"); return }
        // Unhealthy on checkout: retired, and with nobody waiting nothing opens.
        #expect(state.retire() == false && state.reserved == 0)
    }

    @Test func aFailedOpeningFailsTheFirstInLineAndEveryoneWhenNothingIsOpen() {
        var state = makeState(size: 2)
        var expired: [Int] = []
        _ = state.lease(now: t0, waiter: "held", expired: &expired)
        _ = state.opened(1, openedAt: t0, now: t0)
        #expect(waiting(state.lease(now: t0, waiter: "a", expired: &expired))?.open == true)
        #expect(waiting(state.lease(now: t0, waiter: "b", expired: &expired))?.open == false)
        // "held" still has a connection that will come back: only "a" fails, and another
        // opening starts for "b".
        let first = state.openFailed()
        #expect(first.failed == ["a"] && first.openAnother)
        #expect(state.reserved == 2 && state.connecting == 1)
        guard case .close(open: false) = state.release(1, openedAt: t0, reusable: false, now: t0) else {
            Issue.record("expected the broken connection to close"); return
        }
        // Nothing else open or being opened: when this opening fails too, "b" gets the error.
        let second = state.openFailed()
        #expect(second.failed == ["b"] && !second.openAnother && state.reserved == 0)

        // A pool of one: "y" waits behind the opening for "x"; when it fails, nothing will
        // come back to "y" either, and both get the error.
        var single = makeState(size: 1)
        _ = single.lease(now: t0, waiter: "x", expired: &expired)
        #expect(waiting(single.lease(now: t0, waiter: "y", expired: &expired))?.open == false)
        let both = single.openFailed()
        #expect(both.failed == ["x", "y"] && !both.openAnother && single.reserved == 0)
    }

    @Test func idleAndOldConnectionsAreRetired() {
        var state = makeState(size: 2, idle: .seconds(10), lifetime: .seconds(100))
        var expired: [Int] = []
        _ = state.lease(now: t0, waiter: "a", expired: &expired)
        _ = state.opened(7, openedAt: t0, now: t0)
        #expect({ if case .keep = state.release(7, openedAt: t0, reusable: true, now: t0) { true } else { false } }())
        // Idle past its timeout: closed on the next lease, which waits for a fresh one.
        #expect(waiting(state.lease(now: t0 + .seconds(11), waiter: "b", expired: &expired))?.open == true)
        #expect(expired == [7] && state.reserved == 1)
        _ = state.opened(8, openedAt: t0, now: t0)
        // Past its lifetime: closed when it comes back, even if healthy.
        guard case .close(open: false) = state.release(8, openedAt: t0, reusable: true, now: t0 + .seconds(101)) else {
            Issue.record("expected the old connection to close"); return
        }
        #expect(state.reserved == 0)
    }

    @Test func closingFailsTheLineAndClosesWhatComesBackOrOpens() {
        var state = makeState(size: 1)
        var expired: [Int] = []
        _ = state.lease(now: t0, waiter: "a", expired: &expired)
        _ = state.opened(1, openedAt: t0, now: t0)
        _ = state.lease(now: t0, waiter: "b", expired: &expired)
        let (idle, waiters) = state.close()
        #expect(idle.isEmpty && waiters == ["b"])
        #expect({ if case .closed = state.lease(now: t0, waiter: "d", expired: &expired) { true } else { false } }())
        guard case .close(open: false) = state.release(1, openedAt: t0, reusable: true, now: t0) else {
            Issue.record("connections coming back after close are closed"); return
        }
        var other = makeState()
        _ = other.lease(now: t0, waiter: "a", expired: &expired)
        _ = other.close()
        guard case (.close, false) = other.opened(2, openedAt: t0, now: t0) else { Issue.record("an opening after close closes"); return }
        #expect(other.reserved == 0 && other.connecting == 0)
    }

    /// Random leases, releases, openings, failures and waiters giving up: a connection is never
    /// held twice; the line is served in order; the slots always add up (held + idle + being
    /// opened); and nobody waits while the pool could open a connection for them.
    @Test func neverHandsOutAConnectionTwiceAndNeverLeavesTheLineStranded() {
        randomWalk(delay: .zero)
    }

    /// The same walk with an open delay: the driver's recheck timer fires when due. A caller
    /// waits only while a connection is on its way to it or a recheck is pending, and once a
    /// recheck has run, every caller that has waited the delay has an opening, unless the
    /// limits allow no more.
    @Test func withAnOpenDelayNoCallerIsStrandedAndDueCallersGetOpenings() {
        randomWalk(delay: .milliseconds(5))
    }

    /// 20 000 random steps (leases, openings that succeed or fail, callers leaving the line,
    /// connections given back healthy or broken, time passing) against a model of who holds
    /// what, checking the state's accounting and that the line is served in order.
    func randomWalk(delay: Duration) {
        let size = 3
        var state = State(limits: .init(size: size, openDelay: delay, idleTimeout: .seconds(60)))
        var now = t0
        var held: Set<Int> = []
        var openings = 0
        var nextConnection = 0
        var recheckAt: ContinuousClock.Instant?
        var line: [(id: Int, name: String)] = []
        var generator = SystemRandomNumberGenerator()
        func serve(_ name: String, _ connection: Int) {
            #expect(line.first?.name == name)
            line.removeFirst()
            #expect(!held.contains(connection))
            held.insert(connection)
        }
        func arm(_ after: Duration?) {
            guard let after else { return }
            #expect(delay > .zero && recheckAt == nil, "one recheck pending at a time, and only with a delay")
            recheckAt = now + after
        }
        for step in 0..<20_000 {
            var expired: [Int] = []
            now += .microseconds(Int64.random(in: 0...1500, using: &generator))
            if let due = recheckAt, due <= now {
                recheckAt = nil
                let (opened, again) = state.recheck(now: now)
                openings += opened
                arm(again)
                #expect(state.dueWaiters(now: now) <= state.connecting || state.reserved == size
                        || state.connecting == 2, "after a recheck every due caller has an opening")
            }
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<4:
                switch state.lease(now: now, waiter: "w\(step)", expired: &expired) {
                case .use(let connection):
                    #expect(!held.contains(connection)); held.insert(connection)
                case .wait(let id, let open, let recheck):
                    line.append((id, "w\(step)"))
                    if open { openings += 1 }
                    arm(recheck)
                case .closed: Issue.record("not closed")
                }
            case 4..<6 where openings > 0:
                openings -= 1
                if Int.random(in: 0..<8, using: &generator) == 0 {
                    let (failed, another) = state.openFailed(now: now)
                    for name in failed {
                        #expect(line.first?.name == name); line.removeFirst()
                    }
                    if another { openings += 1 }
                } else {
                    nextConnection += 1
                    let (action, another) = state.opened(nextConnection, openedAt: now, now: now)
                    switch action {
                    case .handOver(let name): serve(name, nextConnection)
                    case .keep: #expect(line.isEmpty)
                    case .close: Issue.record("not closed")
                    }
                    if another { openings += 1 }
                }
            case 6 where !line.isEmpty:
                let leaving = line.remove(at: Int.random(in: 0..<line.count, using: &generator))
                #expect(state.removeWaiter(id: leaving.id) == leaving.name)
            default:
                guard let connection = held.randomElement(using: &generator) else { continue }
                held.remove(connection)
                let reusable = Int.random(in: 0..<10, using: &generator) > 0
                switch state.release(connection, openedAt: now, reusable: reusable, now: now) {
                case .handOver(let name): serve(name, connection)
                case .keep: #expect(line.isEmpty)
                case .close(let open): if open { openings += 1 }
                }
            }
            #expect(state.reserved == held.count + state.idle.count + openings)
            #expect(state.connecting == openings && openings <= 2 && state.reserved <= size)
            #expect(state.waiters.map(\.waiter) == line.map(\.name))
            #expect(Set(state.idle.map(\.connection)).isDisjoint(with: held))
            // Liveness: a caller waits only while a connection is on its way to it (one being
            // opened for it, or one held that will come back), or a recheck is pending.
            if !line.isEmpty {
                #expect(state.idle.isEmpty)
                if delay == .zero {
                    #expect(openings >= line.count || state.reserved == size || openings == 2 || !held.isEmpty)
                }
                #expect(openings > 0 || !held.isEmpty || recheckAt != nil)
            }
        }
    }

    // MARK: The open delay

    func delayedState(size: Int = 8, delay: Duration = .milliseconds(5)) -> State {
        State(limits: .init(size: size, openDelay: delay, idleTimeout: .seconds(60)))
    }

    @Test func withAnOpenDelayACallerWaitsForAConnectionToComeBackBeforeOneIsOpened() {
        var state = delayedState()
        var expired: [Int] = []
        // Nothing is open: nothing could come back, so the first caller's opening starts at once.
        guard case .wait(_, open: true, recheckAfter: .milliseconds(5)) = state.lease(now: t0, waiter: "a", expired: &expired) else {
            Issue.record("an empty pool opens at once"); return
        }
        guard case (.handOver("a"), false) = state.opened(1, openedAt: t0, now: t0 + .milliseconds(3)) else {
            Issue.record("the opening goes to a"); return
        }
        // One connection is out: the next caller waits without an opening; the recheck a's wait
        // armed (due at 5 ms) is still pending and covers it.
        guard case .wait(_, open: false, recheckAfter: nil) = state.lease(now: t0 + .milliseconds(4), waiter: "b", expired: &expired) else {
            Issue.record("b waits for the connection out, without an opening"); return
        }
        // At 5 ms b has waited 1 ms: no opening; look again when b's delay is up.
        let early = state.recheck(now: t0 + .milliseconds(5))
        #expect(early.openings == 0 && early.recheckAfter == .milliseconds(4))
        guard case .wait(_, open: false, recheckAfter: nil) = state.lease(now: t0 + .milliseconds(6), waiter: "c", expired: &expired) else {
            Issue.record("c waits; one recheck is pending already"); return
        }
        // The connection comes back within b's delay: b gets it, nothing is opened.
        guard case .handOver("b") = state.release(1, openedAt: t0, reusable: true, now: t0 + .milliseconds(7)) else {
            Issue.record("the connection goes to b"); return
        }
        // At b's recheck c has waited 3 ms of its 5: no opening, look again when c's delay is up.
        let first = state.recheck(now: t0 + .milliseconds(9))
        #expect(first.openings == 0 && first.recheckAfter == .milliseconds(2))
        // c has waited 5 ms and still nothing came back: one opening for it.
        let second = state.recheck(now: t0 + .milliseconds(11))
        #expect(second.openings == 1 && second.recheckAfter == .milliseconds(5))
        #expect(state.reserved == 2 && state.connecting == 1 && state.openingsStarted == 2)
        // The connection b holds comes back first; the opening then goes idle.
        guard case .handOver("c") = state.release(1, openedAt: t0, reusable: true, now: t0 + .milliseconds(12)) else {
            Issue.record("the connection goes to c"); return
        }
        guard case (.keep, false) = state.opened(2, openedAt: t0, now: t0 + .milliseconds(14)) else {
            Issue.record("the opening goes idle"); return
        }
        // Nobody waits: the pending recheck finds nothing and does not arm another.
        #expect(state.recheck(now: t0 + .milliseconds(16)) == (0, nil))
    }

    @Test func aLineThatOutlastsTheDelayGrowsThePoolTwoAtATime() {
        var state = delayedState(size: 4)
        var expired: [Int] = []
        _ = state.lease(now: t0, waiter: "first", expired: &expired)
        _ = state.opened(1, openedAt: t0, now: t0)
        for index in 0..<6 {
            _ = state.lease(now: t0 + .milliseconds(1), waiter: "w\(index)", expired: &expired)
        }
        #expect(state.connecting == 0)
        let recheck = state.recheck(now: t0 + .milliseconds(6))
        #expect(recheck.openings == 2 && recheck.recheckAfter == .milliseconds(5), "all six are due; two at a time")
        // Each opening that finishes starts the next while callers are due, within the size.
        guard case (.handOver("w0"), true) = state.opened(2, openedAt: t0, now: t0 + .milliseconds(8)) else {
            Issue.record("w0 gets the first opening and another starts"); return
        }
        #expect(state.reserved == 4 && state.connecting == 2)
        #expect(state.recheck(now: t0 + .milliseconds(11)).openings == 0, "the size is reached")
    }

    @Test func withoutAnOpenDelayNoRecheckIsAskedFor() {
        var state = makeState(size: 1)
        var expired: [Int] = []
        guard case .wait(_, open: true, recheckAfter: nil) = state.lease(now: t0, waiter: "a", expired: &expired),
              case .wait(_, open: false, recheckAfter: nil) = state.lease(now: t0, waiter: "b", expired: &expired) else {
            Issue.record("no rechecks without a delay"); return
        }
    }

    // MARK: What the RPC client adds: a preferred event loop, peers that close, warming, refreshing

    /// A connection on an event loop ("a" or "b"); `open` false when its peer closed it.
    struct Channel: Equatable {
        var id: Int
        var loop: Character
        var open = true
    }

    func channelState(size: Int = 8) -> ConnectionPoolState<Channel, String> {
        ConnectionPoolState(limits: .init(size: size, idleTimeout: .seconds(60)))
    }

    /// Gives back `channels` in order (the last is the most recently given back); each was
    /// opened for the waiter a lease queued, at `used`.
    func fill(_ state: inout ConnectionPoolState<Channel, String>, _ channels: [(Channel, Duration)]) {
        var expired: [Channel] = []
        for (channel, _) in channels {
            _ = state.lease(now: t0, waiter: "w\(channel.id)", expired: &expired)
            _ = state.opened(channel, openedAt: t0, now: t0)
        }
        for (channel, used) in channels {
            _ = state.release(channel, openedAt: t0, reusable: true, now: t0 + used)
        }
    }

    @Test func theCallersLoopFirstThenTheMostRecentElsewhereAndNoClosedOrStaleOne() {
        var state = channelState()
        let a1 = Channel(id: 1, loop: "a"), b1 = Channel(id: 2, loop: "b"), aStale = Channel(id: 3, loop: "a")
        let aClosed = Channel(id: 4, loop: "a", open: false), b2 = Channel(id: 5, loop: "b")
        // Given back in this order; aStale long ago (idle past the timeout by `now`).
        fill(&state, [(a1, .seconds(100)), (b1, .seconds(101)), (aStale, .zero), (aClosed, .seconds(102)), (b2, .seconds(103))])
        let now = t0 + .seconds(105)
        var expired: [Channel] = []
        func take(preferring loop: Character?) -> Channel? {
            state.takeIdleConnection(now: now, expired: &expired, isUsable: { $0.open },
                                     prefers: { loop == nil || $0.loop == loop })
        }
        // Loop a: a1, past b2 (another loop) and the two that cannot be used.
        #expect(take(preferring: "a") == a1)
        #expect(expired == [aClosed, aStale] && state.reserved == 3)
        #expect(state.idle.map(\.connection) == [b1, b2])
        // Loop a has none left: the most recently given back elsewhere.
        #expect(take(preferring: "a") == b2)
        #expect(take(preferring: nil) == b1)
        #expect(take(preferring: nil) == nil && state.reserved == 3 && expired.count == 2)
    }

    /// A connection dropped below the other loop's candidate moves that candidate's position:
    /// the one handed out is still the candidate, not its neighbour.
    @Test func droppingStaleConnectionsKeepsTheOtherLoopsCandidate() {
        var state = channelState()
        let bOld = Channel(id: 1, loop: "b"), bStale = Channel(id: 2, loop: "b"), bRecent = Channel(id: 3, loop: "b")
        fill(&state, [(bOld, .seconds(95)), (bStale, .zero), (bRecent, .seconds(99))])
        var expired: [Channel] = []
        let taken = state.takeIdleConnection(now: t0 + .seconds(100), expired: &expired, isUsable: { $0.open },
                                             prefers: { $0.loop == "a" })
        #expect(taken == bRecent && expired == [bStale] && state.idle.map(\.connection) == [bOld] && state.reserved == 2)
    }

    /// Warming opens up to the count all at once (not `maxConnecting` at a time), within the
    /// size, replacing idle connections a lease would pass over; each opening ends as if leased.
    @Test func warmingOpensAllAtOnceWithinTheSizeAndReplacesStaleOnes() {
        var state = channelState(size: 4)
        let fresh = Channel(id: 1, loop: "a"), closed = Channel(id: 2, loop: "a", open: false)
        fill(&state, [(fresh, .seconds(1)), (closed, .seconds(1))])
        var expired: [Channel] = []
        #expect(state.reserveWarmOpenings(upTo: 6, now: t0 + .seconds(2), expired: &expired, isUsable: { $0.open }) == 3)
        #expect(expired == [closed] && state.reserved == 4 && state.connecting == 3 && state.peakConnecting == 3)
        // The first succeeds and comes back idle after its check; the second fails with nobody
        // waiting; the third succeeds.
        state.openedForWarming()
        #expect({ if case .keep = state.release(Channel(id: 3, loop: "b"), openedAt: t0, reusable: true, now: t0) { true } else { false } }())
        #expect(state.openFailed() == ([], false))
        state.openedForWarming()
        _ = state.release(Channel(id: 4, loop: "b"), openedAt: t0, reusable: true, now: t0)
        #expect(state.idle.count == 3 && state.reserved == 3 && state.connecting == 0 && state.openingsStarted == 5)
        // Enough idle: nothing to open. Closed: nothing either.
        #expect(state.reserveWarmOpenings(upTo: 3, now: t0 + .seconds(3), expired: &expired) == 0)
        _ = state.close()
        #expect(state.reserveWarmOpenings(upTo: 3, now: t0, expired: &expired) == 0)
    }

    /// Refreshing takes idle connections out (still counted as open) and gives them back;
    /// meanwhile a caller waits in line rather than opening past the size.
    @Test func refreshingTakesIdleConnectionsOutAndGivesThemBack() {
        var state = channelState(size: 2)
        let old = Channel(id: 1, loop: "a"), recent = Channel(id: 2, loop: "a")
        fill(&state, [(old, .seconds(1)), (recent, .seconds(40))])
        let due = state.takeIdle { t0 + .seconds(45) - $0.lastUsed >= .seconds(30) }
        #expect(due.map(\.connection) == [old] && state.reserved == 2 && state.idle.map(\.connection) == [recent])
        var expired: [Channel] = []
        #expect({ if case .use(recent) = state.lease(now: t0 + .seconds(45), waiter: "x", expired: &expired) { true } else { false } }())
        guard case .wait(_, open: false, _) = state.lease(now: t0 + .seconds(45), waiter: "y", expired: &expired) else {
            Issue.record("at the size, the caller waits without an opening"); return
        }
        guard case .handOver("y") = state.release(old, openedAt: t0, reusable: true, now: t0 + .seconds(46)) else {
            Issue.record("the refreshed connection goes to the caller in line"); return
        }
    }
}
