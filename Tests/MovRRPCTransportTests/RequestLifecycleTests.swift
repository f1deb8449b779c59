import Foundation
import MovRRPC
import MovRRPCTransport
import MovRTestSupport
import NIOConcurrencyHelpers
import NIOPosix
import Testing

/// What the rebuilt request path promises: handlers on the connection's event loop, cancelled
/// when the client goes away, answered with 504 at the caller's deadline; replies bounded while
/// read; callers queued (not polling) for a busy connection pool.
@Suite struct RequestLifecycleTests {
    /// Records whether a handler saw its task cancelled, and how long it had waited then.
    final class Probe: Sendable {
        private let state = NIOLockedValueBox((started: 0, cancelled: 0, longestWait: Duration.zero))
        func start() { state.withLockedValue { $0.started += 1 } }
        func cancel(after waited: Duration) {
            state.withLockedValue { $0.cancelled += 1; $0.longestWait = max($0.longestWait, waited) }
        }
        var started: Int { state.withLockedValue { $0.started } }
        var cancelled: Int { state.withLockedValue { $0.cancelled } }
        /// The longest a cancelled handler waited, measured in the server (no client start-up in it).
        var longestWaitBeforeCancel: Duration { state.withLockedValue { $0.longestWait } }
    }

    struct Big: Codable, Sendable { var text: String }
    struct OnLoop: Codable, Sendable { var onEventLoop: Bool }

    static func dispatcher(probe: Probe, started: StartedRequests = StartedRequests()) -> RPCDispatcher {
        var dispatcher = RPCDispatcher.transportTest(started: started)
        dispatcher.register("test.wait", params: RPCEmptyParams.self) { _, _ in
            probe.start()
            let started = ContinuousClock.now
            do {
                try await Task.sleep(for: .seconds(30))
            } catch {
                probe.cancel(after: ContinuousClock.now - started)
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
        // Naps 50 ms: a cancelled call fails its nap (and answers an error).
        dispatcher.register("test.nap", params: RPCEmptyParams.self) { _, _ in
            try await Task.sleep(for: .milliseconds(50))
            return OnLoop(onEventLoop: MultiThreadedEventLoopGroup.currentEventLoop != nil)
        }
        dispatcher.register("test.nan", params: RPCEmptyParams.self) { _, _ in [Double.nan] }
        dispatcher.register("test.in_flight", params: RPCEmptyParams.self) { _, _ in RequestsInFlight.current }
        // Answers after 5 s whatever happens: cancelling it does not stop it.
        dispatcher.register("test.stubborn", params: RPCEmptyParams.self) { _, _ in
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + 5) { continuation.resume() }
            }
            return RPCEmpty()
        }
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

    @Test func aHandlerCountsAmongTheRequestsInFlight() async throws {
        let fixture = try TransportFixture()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: Probe()))
        let client = try fixture.client(as: fixture.rides, port: port)
        // Other tests' servers run in this process too: at least this handler is counted.
        let counted = try await client.call("test.in_flight", params: RPCEmpty(), as: Int.self, options: RPCCallOptions())
        #expect(counted >= 1)
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
        // server ended the call at the caller's deadline. Two seconds, not less: a deadline
        // already past when a loaded machine dispatches the call is answered without running
        // the handler, which then has nothing to cancel.
        let (status, body) = try await fixture.curl(
            port: port, body: Data(#"{"jsonrpc":"2.0","method":"test.wait","id":7}"#.utf8),
            extra: ["-H", "X-MovR-Deadline-Ms: 2000"])
        #expect(status == 200)
        let reply = try JSONValue.parse(Array(body.utf8))
        #expect(reply["id"] == 7)
        #expect(reply["error"]?["code"] == 504)
        #expect(reply["error"]?["data"]?["reason"] == "deadline_exceeded")
        #expect(probe.cancelled == 1)
        await server.shutdownGracefully()
    }

    /// One call of a curl that makes several on one connection (`--next` between them): `method`
    /// with a deadline of `deadlineMs`, then `writeOut` after its reply (a line of its own).
    static func curlCall(_ fixture: TransportFixture, port: Int, _ method: String, id: Int, deadlineMs: Int,
                         writeOut: String = "\n") throws -> [String] {
        let body = fixture.certificates.path("\(method)-\(id).json")
        try Data(#"{"jsonrpc":"2.0","method":"\#(method)","id":\#(id)}"#.utf8).write(to: URL(fileURLWithPath: body))
        return ["-sS", "--cacert", fixture.authority.certificatePath, "--cert", fixture.gateway.certificatePath,
                "--key", fixture.gateway.keyPath, "--resolve", "vehicles.movr.internal:\(port):127.0.0.1",
                "-H", "Content-Type: application/json", "-H", "X-MovR-Deadline-Ms: \(deadlineMs)",
                "--data-binary", "@\(body)", "-w", writeOut, "https://vehicles.movr.internal:\(port)/rpc"]
    }

    /// The connection's timer is moved, not rescheduled, per request: a short deadline after
    /// a long one on the same keep-alive connection still ends its call on time.
    @Test func aShortDeadlineAfterALongOneOnTheSameConnectionIsKept() async throws {
        let fixture = try TransportFixture()
        let probe = Probe()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: probe))
        // One curl, one connection: three calls with a 60 s deadline, then one with 2 s
        // whose handler sleeps 30 s (curl gives up after 20 s; a shorter deadline may be past
        // before a loaded machine dispatches the call, and its handler never runs).
        var arguments = ["--max-time", "20"]
        for _ in 0..<3 { arguments += try Self.curlCall(fixture, port: port, "test.echo", id: 1, deadlineMs: 60000) + ["--next"] }
        arguments += try Self.curlCall(fixture, port: port, "test.wait", id: 2, deadlineMs: 2000, writeOut: "\n%{num_connects}")
        let output = try await TestProcess.run("/usr/bin/curl", arguments)
        // Timed inside the server, from the handler's start to its cancellation: a busy machine
        // slowing curl's start or handshakes does not count, a missed deadline (the
        // next timer step: the fixture's 60 s read timeout) does.
        #expect(probe.longestWaitBeforeCancel < .seconds(10), "the 2 s deadline was kept, not the next timer step (60 s)")
        let lines = output.text.split(separator: "\n")
        #expect(lines.last == "0", "the last call reused the connection: \(output.text)")
        #expect(lines.count == 5, "\(output.text)")
        let reply = try JSONValue.parse(Array((lines.dropLast().last ?? "").utf8))
        #expect(reply["id"] == 2)
        #expect(reply["error"]?["code"] == 504, "\(output.text)")
        #expect(probe.cancelled == 1)
        await server.shutdownGracefully()
    }

    /// A connection's calls share one task (`CallRunner`), and a call cancelled at its deadline
    /// leaves that task: the calls after it on the same connection run to their end.
    @Test func callsAfterOneEndedAtItsDeadlineRunOnTheSameConnection() async throws {
        let fixture = try TransportFixture()
        let probe = Probe()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: probe))
        // One curl, one connection: a nap, a wait ended at its 2 s deadline, then three naps.
        var arguments = ["--max-time", "20"]
        arguments += try Self.curlCall(fixture, port: port, "test.nap", id: 1, deadlineMs: 60000) + ["--next"]
        arguments += try Self.curlCall(fixture, port: port, "test.wait", id: 2, deadlineMs: 2000) + ["--next"]
        for _ in 0..<2 { arguments += try Self.curlCall(fixture, port: port, "test.nap", id: 1, deadlineMs: 60000) + ["--next"] }
        arguments += try Self.curlCall(fixture, port: port, "test.nap", id: 1, deadlineMs: 60000, writeOut: "\n%{num_connects}")
        let output = try await TestProcess.run("/usr/bin/curl", arguments)
        let lines = output.text.split(separator: "\n")
        #expect(lines.count == 6, "\(output.text)")
        #expect(lines.last == "0", "every call after the first reused the connection: \(output.text)")
        let replies = try lines.dropLast().map { try JSONValue.parse(Array($0.utf8)) }
        #expect(replies.map { $0["error"]?["code"] } == [nil, 504, nil, nil, nil], "\(output.text)")
        #expect(replies.map { $0["result"]?["onEventLoop"] } == [true, nil, true, true, true], "\(output.text)")
        #expect(probe.cancelled == 1)
        await server.shutdownGracefully()
    }

    /// The client's side of the same: a connection's exchange timer is moved per call, and a
    /// short deadline after long ones ends the call on time even when the server answers late.
    @Test func theClientKeepsAShortDeadlineAfterLongOnesOnTheSameConnection() async throws {
        let fixture = try TransportFixture()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: Probe()))
        let client = try fixture.client(as: fixture.rides, port: port) { $0.maxConnections = 1 }
        for _ in 0..<3 {
            _ = try await client.call("test.on_loop", params: RPCEmpty(), as: OnLoop.self,
                                      options: RPCCallOptions(deadline: .now + .seconds(60)))
        }
        let started = ContinuousClock.now
        await #expect(throws: RPCError.deadlineExceeded()) {
            try await client.call("test.stubborn", params: .object([:]), options: RPCCallOptions(deadline: .now + .milliseconds(300)))
        }
        #expect(ContinuousClock.now - started < .seconds(3), "the 300 ms deadline was kept, not the server's 5 s answer")
        await client.shutdown()
        await server.shutdownGracefully()
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterSeveralRequests() async throws {
        let fixture = try TransportFixture()
        let (server, port) = try await fixture.startServer(dispatcher: .transportTest()) {
            $0.idleTimeout = .seconds(3)
            $0.requestReadTimeout = .seconds(5)
        }
        let client = try fixture.client(as: fixture.rides, port: port) {
            $0.maxConnections = 1
            $0.idleTimeout = .seconds(60)  // the client keeps it: only the server can close it
        }
        // Idempotent: if a loaded machine pauses this task past the server's 3 s idle timeout
        // between two calls, the next one is resent on a new connection instead of failing.
        for _ in 0..<5 {
            _ = try await client.call("test.echo", params: .object([:]), options: RPCCallOptions(idempotent: true))
        }
        #expect(server.openConnections == 1)
        let limit = ContinuousClock.now + .seconds(20)
        while server.openConnections > 0, ContinuousClock.now < limit { try await Task.sleep(for: .milliseconds(50)) }
        #expect(server.openConnections == 0, "the server closed the idle connection")
        await client.shutdown()
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
        let started = StartedRequests()
        let (server, port) = try await fixture.startServer(dispatcher: Self.dispatcher(probe: Probe(), started: started))
        let client = try fixture.client(as: fixture.rides, port: port) { $0.maxConnections = 1 }
        let busyDone = NIOLockedValueBox(false)
        let busy = Task {
            _ = try await client.call("test.sleep", params: .object(["milliseconds": 8000]),
                                      options: RPCCallOptions(deadline: .now + .seconds(30)))
            busyDone.withLockedValue { $0 = true }
        }
        // The busy call holds the only connection once its handler has started.
        let limit = ContinuousClock.now + .seconds(20)
        while started.value == 0, ContinuousClock.now < limit { try await Task.sleep(for: .milliseconds(5)) }
        try #require(started.value == 1)
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
