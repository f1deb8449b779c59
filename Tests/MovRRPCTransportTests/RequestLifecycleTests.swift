import Foundation
import MovRRPC
import MovRRPCTransport
import NIOConcurrencyHelpers
import NIOPosix
import Testing

/// What the rebuilt request path promises: handlers on the connection's event loop, cancelled
/// when the client goes away, answered with 504 at the caller's deadline; replies bounded while
/// read; callers queued (not polling) for a busy connection pool.
@Suite struct RequestLifecycleTests {
    /// Records whether a handler saw its task cancelled, and when it started.
    final class Probe: Sendable {
        private let state = NIOLockedValueBox((started: 0, cancelled: 0))
        func start() { state.withLockedValue { $0.started += 1 } }
        func cancel() { state.withLockedValue { $0.cancelled += 1 } }
        var started: Int { state.withLockedValue { $0.started } }
        var cancelled: Int { state.withLockedValue { $0.cancelled } }
    }

    struct Big: Codable, Sendable { var text: String }
    struct OnLoop: Codable, Sendable { var onEventLoop: Bool }

    static func dispatcher(probe: Probe) -> RPCDispatcher {
        var dispatcher = RPCDispatcher.transportTest()
        dispatcher.register("test.wait", params: RPCEmptyParams.self) { _, _ in
            probe.start()
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                probe.cancel()
                throw error
            }
            return RPCEmpty()
        }
        dispatcher.register("test.big", params: RPCEmptyParams.self) { _, _ in
            Big(text: String(repeating: "x", count: 200_000))
        }
        dispatcher.register("test.on_loop", params: RPCEmptyParams.self) { _, _ in
            OnLoop(onEventLoop: MultiThreadedEventLoopGroup.currentEventLoop != nil)
        }
        dispatcher.register("test.nan", params: RPCEmptyParams.self) { _, _ in [Double.nan] }
        return dispatcher
    }

    @Test func handlersRunOnTheConnectionsEventLoop() async throws {
        let fixture = try TransportFixture()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: Probe()))
        let client = try fixture.client(as: fixture.rides, port: port)
        let answer = try await client.call("test.on_loop", params: RPCEmpty(), as: OnLoop.self, options: RPCCallOptions())
        #expect(answer.onEventLoop)
        await client.shutdown()
        await server.shutdownGracefully()
    }

    @Test func aClientThatGoesAwayCancelsItsHandler() async throws {
        let fixture = try TransportFixture()
        let probe = Probe()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: probe))
        let client = try fixture.client(as: fixture.rides, port: port)
        let call = Task {
            try await client.call("test.wait", params: .object([:]), options: RPCCallOptions(deadline: .now + .seconds(60)))
        }
        while probe.started == 0 { try await Task.sleep(for: .milliseconds(10)) }
        call.cancel()  // the client closes its connection
        let limit = ContinuousClock.now + .seconds(20)
        while probe.cancelled == 0, ContinuousClock.now < limit { try await Task.sleep(for: .milliseconds(10)) }
        #expect(probe.cancelled == 1, "the server cancelled the handler of the vanished client (open connections: \(server.openConnections))")
        await #expect(throws: RPCError.self) { try await call.value }
        await client.shutdown()
        await server.shutdownGracefully()
    }

    @Test func theServerAnswers504AtTheCallersDeadline() async throws {
        let fixture = try TransportFixture()
        let probe = Probe()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: probe))
        // The handler sleeps 30 s and curl gives up after 20 s: an answer at all means the
        // server ended the call at the caller's deadline.
        let (status, body) = try await fixture.curl(
            port: port, body: Data(#"{"jsonrpc":"2.0","method":"test.wait","id":7}"#.utf8),
            extra: ["-H", "X-MovR-Deadline-Ms: 300"])
        #expect(status == 200)
        let reply = try JSONValue.parse(Array(body.utf8))
        #expect(reply["id"] == 7)
        #expect(reply["error"]?["code"] == 504)
        #expect(reply["error"]?["data"]?["reason"] == "deadline_exceeded")
        #expect(probe.cancelled == 1)
        await server.shutdownGracefully()
    }

    @Test func repliesOverTheClientsLimitFailWhileRead() async throws {
        let fixture = try TransportFixture()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: Probe()))
        let client = try fixture.client(as: fixture.rides, port: port) { $0.maxReplyBytes = 64 << 10 }
        await #expect(throws: RPCError.internalError) {
            try await client.call("test.big", params: .object([:]), options: RPCCallOptions(idempotent: true))
        }
        // The client is still usable (on a new connection).
        _ = try await client.call("test.echo", params: .object([:]), options: RPCCallOptions())
        await client.shutdown()
        await server.shutdownGracefully()
    }

    @Test func resultsThatCannotBeEncodedAreInternalErrors() async throws {
        let reply = try #require(await Self.dispatcher(probe: Probe()).handle(
            body: Array(#"{"jsonrpc":"2.0","method":"test.nan","id":1}"#.utf8), context: RPCContext()))
        let json = try JSONValue.parse(reply)
        #expect(json["error"]?["code"] == -32603)
    }

    @Test func callersQueueForABusyPoolInsteadOfFailing() async throws {
        let fixture = try TransportFixture()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: Probe()))
        let client = try fixture.client(as: fixture.rides, port: port) { $0.maxConnections = 1 }
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    _ = try await client.call("test.sleep", params: .object(["milliseconds": 50]),
                                              options: RPCCallOptions(deadline: .now + .seconds(20)))
                }
            }
            try await group.waitForAll()
        }
        // One connection: the eight calls ran one after another, none failed.
        #expect(ContinuousClock.now - started >= .milliseconds(400))
        await client.shutdown()
        await server.shutdownGracefully()
    }

    @Test func aQueuedCallerGivesUpAtItsDeadline() async throws {
        let fixture = try TransportFixture()
        let probe = Probe()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: probe))
        let client = try fixture.client(as: fixture.rides, port: port) { $0.maxConnections = 1 }
        let busyDone = NIOLockedValueBox(false)
        let busy = Task {
            _ = try await client.call("test.sleep", params: .object(["milliseconds": 8000]),
                                      options: RPCCallOptions(deadline: .now + .seconds(30)))
            busyDone.withLockedValue { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(200))
        await #expect(throws: RPCError.deadlineExceeded()) {
            try await client.call("test.echo", params: .object([:]), options: RPCCallOptions(deadline: .now + .milliseconds(200)))
        }
        // It gave up while the only connection was still busy, not when it came free.
        #expect(!busyDone.withLockedValue { $0 })
        _ = try await busy.value
        await client.shutdown()
        await server.shutdownGracefully()
    }
}

/// `/readyz` answers from a recent probe, so a flood of it cannot fan out into dependency calls.
@Suite struct ReadinessCacheTests {
    @Test func aFloodOfReadinessChecksProbesOnce() async throws {
        let fixture = try TransportFixture()
        let probes = NIOLockedValueBox(0)
        var routes = RPCServerRoutes()
        routes.readiness = {
            probes.withLockedValue { $0 += 1 }
            return true
        }
        let (server, port) = try await fixture.startServer(dispatcher: .transportTest(), routes: routes) {
            $0.readinessCacheDuration = .seconds(60)
        }
        for _ in 0..<10 {
            let (status, _) = try await fixture.curl(port: port, path: "/readyz", method: "GET", contentType: nil)
            #expect(status == 200)
        }
        #expect(probes.withLockedValue { $0 } == 1)
        await server.shutdownGracefully()
    }
}
