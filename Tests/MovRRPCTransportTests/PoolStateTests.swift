@testable import MovRRPCTransport
import NIOCore
import NIOEmbedded
import Testing

/// The pool's choice of an idle connection (`RPCClient.PoolState.takeIdle`): the most recently
/// released one on the caller's event loop, else the most recent on another loop; connections it
/// passes over that are closed or idle too long are handed back to be closed and leave the count.
@Suite struct PoolStateTests {
    static let idleTimeout = Duration.seconds(60)

    static func connection(on loop: EmbeddedEventLoop, lastUsed: ContinuousClock.Instant,
                           active: Bool = true) throws -> RPCClient.PooledConnection {
        let channel = EmbeddedChannel(loop: loop)
        if active { try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait() }
        return RPCClient.PooledConnection(channel: channel, lastUsed: lastUsed)
    }

    static func take(_ state: inout RPCClient.PoolState, preferring loop: EmbeddedEventLoop?, now: ContinuousClock.Instant,
                     stale: inout [RPCClient.PooledConnection]) -> (any Channel)? {
        state.takeIdle(preferring: loop.map { ObjectIdentifier($0) }, now: now, idleTimeout: idleTimeout, stale: &stale)?.channel
    }

    @Test func theCallersLoopFirstThenTheMostRecentElsewhere() throws {
        let (a, b) = (EmbeddedEventLoop(), EmbeddedEventLoop())
        let now = ContinuousClock.now
        let a1 = try Self.connection(on: a, lastUsed: now - .seconds(3))
        let b1 = try Self.connection(on: b, lastUsed: now - .seconds(2))
        let aIdleTooLong = try Self.connection(on: a, lastUsed: now - .seconds(120))
        let aClosed = try Self.connection(on: a, lastUsed: now, active: false)
        let b2 = try Self.connection(on: b, lastUsed: now - .seconds(1))
        var state = RPCClient.PoolState()
        state.idle = [a1, b1, aIdleTooLong, aClosed, b2]  // most recently released last
        state.open = 5
        var stale: [RPCClient.PooledConnection] = []

        // Loop a: a1, past b2 (another loop) and the two that cannot be used.
        #expect(Self.take(&state, preferring: a, now: now, stale: &stale) === a1.channel)
        #expect(stale.map(\.channel).elementsEqual([aClosed.channel, aIdleTooLong.channel], by: { $0 === $1 }))
        #expect(state.open == 3)
        #expect(state.idle.map(\.channel).elementsEqual([b1.channel, b2.channel], by: { $0 === $1 }))
        // Loop a has none left: the most recently released elsewhere.
        #expect(Self.take(&state, preferring: a, now: now, stale: &stale) === b2.channel)
        #expect(Self.take(&state, preferring: nil, now: now, stale: &stale) === b1.channel)
        #expect(Self.take(&state, preferring: nil, now: now, stale: &stale) == nil)
        #expect(state.open == 3 && stale.count == 2)
    }

    /// A connection dropped below the other loop's candidate moves that candidate's position:
    /// the one handed out is still the candidate, not its neighbour.
    @Test func droppingStaleConnectionsKeepsTheOtherLoopsCandidate() throws {
        let (a, b) = (EmbeddedEventLoop(), EmbeddedEventLoop())
        let now = ContinuousClock.now
        let bOld = try Self.connection(on: b, lastUsed: now - .seconds(5))
        let bIdleTooLong = try Self.connection(on: b, lastUsed: now - .seconds(90))
        let bRecent = try Self.connection(on: b, lastUsed: now - .seconds(1))
        var state = RPCClient.PoolState()
        state.idle = [bOld, bIdleTooLong, bRecent]
        state.open = 3
        var stale: [RPCClient.PooledConnection] = []
        #expect(Self.take(&state, preferring: a, now: now, stale: &stale) === bRecent.channel)
        #expect(state.idle.map(\.channel).elementsEqual([bOld.channel], by: { $0 === $1 }))
        #expect(stale.map(\.channel).elementsEqual([bIdleTooLong.channel], by: { $0 === $1 }))
        #expect(state.open == 2)
    }
}
