import Foundation
import MovRRPC
import MovRRPCTransport
import MovRTestSupport
import Testing

/// TCP keepalive on the RPC client's connections (``RPCClientConfiguration/keepalive``): a peer
/// that vanishes without a reset ends the call waiting on it within seconds, not at its deadline.
@Suite struct KeepaliveTests {
    /// The kernel's own view: after a call, the client's connection has its keepalive timer
    /// armed to fire within the configured idle time (2 s), and a client without keepalive has
    /// no timer at all.
    @Test func theClientsConnectionsCarryTheKeepaliveTimer() async throws {
        let fixture = try TransportFixture()
        let (server, port) = try await fixture.startServer(dispatcher: .transportTest())
        let client = try fixture.client(as: fixture.rides, port: port)
        _ = try await client.call("test.echo", params: .object([:]), options: RPCCallOptions(deadline: .now + .seconds(60)))
        let armed = LoopbackSockets.established(toPort: port)
        #expect(!armed.isEmpty)
        #expect(armed.allSatisfy { $0.timer == 2 && $0.timerTicks <= 200 }, "\(armed)")
        await client.shutdown()

        let plain = try fixture.client(as: fixture.rides, port: port) { $0.keepalive = nil }
        _ = try await plain.call("test.echo", params: .object([:]), options: RPCCallOptions(deadline: .now + .seconds(60)))
        // The first client's connections are closed by now (possibly still closing).
        let unarmed = LoopbackSockets.established(toPort: port).filter { $0.timer != 3 }
        #expect(!unarmed.isEmpty)
        #expect(unarmed.allSatisfy { $0.timer == 0 }, "\(unarmed)")
        await plain.shutdown()
        await server.shutdownGracefully()
    }

    /// A caller with somewhere else to go (``RPCCallOptions/reportUnreachable``, the gateway's
    /// home-region hop) hears of a host that does not answer after one connect attempt, not
    /// after every retry has waited out its connect timeout. Same blackhole, on a port where a
    /// server was listening a moment ago.
    @Test(.enabled { await LoopbackBlackhole.isAvailable() })
    func anUnreachableEndpointIsReportedAfterOneConnectAttempt() async throws {
        let fixture = try TransportFixture()
        let (server, port) = try await fixture.startServer(dispatcher: .transportTest())
        await server.shutdownGracefully()
        let blackhole = try await LoopbackBlackhole.drop(port: port)
        let client = try fixture.client(as: fixture.rides, port: port) { $0.connectTimeout = .seconds(1) }
        var options = RPCCallOptions(deadline: .now + .seconds(30), idempotent: true)
        options.reportUnreachable = true
        let began = ContinuousClock.now
        await #expect(throws: RPCUnreachableError.self) {
            _ = try await client.call("test.echo", params: .object([:]), options: options)
        }
        let reported = ContinuousClock.now - began
        // Without the option the same call retries: three connect timeouts before its 503.
        let retried = ContinuousClock.now
        await #expect {
            _ = try await client.call("test.echo", params: .object([:]),
                                      options: RPCCallOptions(deadline: .now + .seconds(30), idempotent: true))
        } throws: { error in
            (error as? RPCError)?.code == 503
        }
        let gaveUp = ContinuousClock.now - retried
        await blackhole.remove()
        #expect(reported < .milliseconds(1_900), "reported after \(reported)")
        #expect(gaveUp >= .milliseconds(2_900), "gave up after \(gaveUp)")
        await client.shutdown()
    }

    /// A call to a server whose every packet starts being dropped (what a host killed with its
    /// network looks like from here): while the call is in flight (`inFlight`, a 30 s
    /// `test.sleep` already running), or before it is written to the connection a first call
    /// left in the pool. Returns how long it waited after the packets stopped and how it
    /// failed; its 40 s deadline bounds it either way.
    static func callWhenThePeerVanishes(inFlight: Bool) async throws -> (waited: Duration, error: RPCError?) {
        let fixture = try TransportFixture()
        let started = StartedRequests()
        let (server, port) = try await fixture.startServer(dispatcher: .transportTest(started: started))
        let client = try fixture.client(as: fixture.rides, port: port)
        _ = try await client.call("test.echo", params: .object([:]), options: RPCCallOptions(deadline: .now + .seconds(60)))
        var blackhole: LoopbackBlackhole?
        if !inFlight { blackhole = try await LoopbackBlackhole.drop(port: port) }
        let call = Task { () -> RPCError? in
            let (method, params): (String, JSONValue) = inFlight
                ? ("test.sleep", .object(["milliseconds": JSONValue(30_000)])) : ("test.echo", .object([:]))
            do {
                _ = try await client.call(method, params: params, options: RPCCallOptions(deadline: .now + .seconds(40)))
                return nil
            } catch let error as RPCError {
                return error
            }
        }
        if inFlight {
            for _ in 0..<400 where started.value == 0 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(started.value == 1)
            blackhole = try await LoopbackBlackhole.drop(port: port)
        }
        let vanishedAt = ContinuousClock.now
        let error = try await call.value
        let waited = ContinuousClock.now - vanishedAt
        await blackhole?.remove()
        await client.shutdown()
        await server.shutdownGracefully()
        return (waited, error)
    }

    /// The behaviour itself: a call in flight when the server vanishes fails as unavailable
    /// after about idle + count x interval (5 s), well before its 40 s deadline. Needs root for
    /// `iptables` (CI runs as root).
    @Test(.enabled { await LoopbackBlackhole.isAvailable() })
    func aCallToAPeerThatVanishedFailsWithinSeconds() async throws {
        let (waited, error) = try await Self.callWhenThePeerVanishes(inFlight: true)
        #expect(error?.code == 503, "\(String(describing: error))")
        #expect(waited < .seconds(15), "the call waited \(waited) after the peer vanished")
    }

    /// A request written to a pooled connection whose peer is already gone: keepalive sends no
    /// probes while data is unacknowledged, so `TCP_USER_TIMEOUT` (idle + count x interval, 5 s)
    /// is what ends it; the call fails as unavailable instead of waiting for its 40 s deadline.
    @Test(.enabled { await LoopbackBlackhole.isAvailable() })
    func aCallWrittenToAPeerAlreadyGoneFailsWithinSeconds() async throws {
        let (waited, error) = try await Self.callWhenThePeerVanishes(inFlight: false)
        #expect(error?.code == 503, "\(String(describing: error))")
        #expect(waited < .seconds(15), "the call waited \(waited)")
    }
}
