import Foundation
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import NIOConcurrencyHelpers
import Testing
@testable import MovRGateway

/// The gateway's coalescing of session checks: past the limit in flight, tokens queue and go to
/// the users service as one `auth.sessions` batch each time a check comes back.
@Suite("session checks")
struct SessionChecksTests {
    /// Opens once; every wait before or after returns then.
    actor Gate {
        private var isOpen = false
        private var waiting: [CheckedContinuation<Void, Never>] = []

        func wait() async {
            if isOpen { return }
            await withCheckedContinuation { waiting.append($0) }
        }

        func open() {
            isOpen = true
            for continuation in waiting { continuation.resume() }
            waiting.removeAll()
        }
    }

    static let alice = GatewayHarness.sessions["alice-token"]!

    /// Polls `condition` until it holds, for at most 20 s.
    static func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// A batch sender that records each batch and answers from ``GatewayHarness/sessions``,
    /// after `gate` opens.
    final class Users: Sendable {
        let batches = NIOLockedValueBox<[[String]]>([])
        let gate = Gate()
        let failure: (any Error & Sendable)?

        init(failing failure: (any Error & Sendable)? = nil) {
            self.failure = failure
        }

        func send(_ tokens: [String], _ options: RPCCallOptions) async throws -> [SessionCheck] {
            batches.withLockedValue { $0.append(tokens) }
            await gate.wait()
            if let failure { throw failure }
            return tokens.map { GatewayHarness.sessions[$0].map(SessionCheck.valid) ?? .refused(reason: "invalid_token") }
        }
    }

    /// Checks `token` the way the gateway does: alone when admitted (answered by `alone`),
    /// otherwise queued.
    static func check(_ checks: SessionChecks, _ token: String,
                      alone: () async throws -> SessionResult) async throws -> SessionResult {
        switch checks.admit(token, deadline: .now + .seconds(30)) {
        case .alone:
            defer { checks.finished() }
            return try await alone()
        case .queued(let waiter):
            return try await waiter.value()
        }
    }

    /// Starts alice's check alone and holds it in flight until the returned gate opens.
    static func holdTheSlot(_ checks: SessionChecks) async throws -> (Gate, Task<SessionResult, any Error>) {
        let gate = Gate()
        let alone = Task {
            try await Self.check(checks, "alice-token") {
                await gate.wait()
                return Self.alice
            }
        }
        try await Self.waitUntil("the first check in flight") { checks.inFlight == 1 }
        return (gate, alone)
    }

    @Test func tokensQueuedBehindACheckLeaveAsOneBatchOfDistinctTokensInOrder() async throws {
        let users = Users()
        await users.gate.open()
        let checks = SessionChecks(limit: 1, send: users.send)
        let (first, alone) = try await Self.holdTheSlot(checks)
        let tokens = ["bob-token", "forged", "admin-token", "alice-token", "bob-token"]
        try await withThrowingTaskGroup(of: (Int, Result<String, RPCError>).self) { group in
            for (index, token) in tokens.enumerated() {
                group.addTask {
                    do {
                        return (index, .success(try await Self.check(checks, token) { throw RPCError.internalError }.user.username))
                    } catch let error as RPCError {
                        return (index, .failure(error))
                    }
                }
                // One at a time, so the queue's order is the tokens' order.
                try await Self.waitUntil("call \(index) queued") { checks.queued == index + 1 }
            }
            #expect(users.batches.withLockedValue { $0 }.isEmpty)
            await first.open()
            #expect(try await alone.value.user.username == "alice")
            var answers = [Result<String, RPCError>?](repeating: nil, count: tokens.count)
            for try await (index, answer) in group { answers[index] = answer }
            #expect(answers[0] == .success("bob") && answers[4] == .success("bob"))
            #expect(answers[1] == .failure(RPCError.unauthenticated(reason: "invalid_token")))
            #expect(answers[2] == .success("root") && answers[3] == .success("alice"))
        }
        #expect(users.batches.withLockedValue { $0 } == [["bob-token", "forged", "admin-token", "alice-token"]])
        try await Self.waitUntil("the slot given back") { checks.inFlight == 0 }
        #expect(checks.queued == 0)
    }

    @Test func aBatchIsAtMostTheLargestCallAndTheRestFollowsInTheNext() async throws {
        let users = Users()
        await users.gate.open()
        let checks = SessionChecks(limit: 1, send: users.send)
        let (first, alone) = try await Self.holdTheSlot(checks)
        let count = SessionTokensParams.maxTokens + 6
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    await #expect(throws: RPCError.unauthenticated(reason: "invalid_token")) {
                        _ = try await Self.check(checks, "token-\(index)") { throw RPCError.internalError }
                    }
                }
            }
            try await Self.waitUntil("every call queued") { checks.queued == count }
            await first.open()
            _ = try await alone.value
            try await group.waitForAll()
        }
        let sizes = users.batches.withLockedValue { $0.map(\.count) }
        #expect(sizes == [SessionTokensParams.maxTokens, 6])
        let sent = users.batches.withLockedValue { $0.flatMap { $0 } }
        #expect(sent.count == count && Set(sent) == Set((0..<count).map { "token-\($0)" }))
        try await Self.waitUntil("the slot given back") { checks.inFlight == 0 }
    }

    @Test func aFailedBatchFailsEachCallItCarriedAndTheNextCheckGoesAlone() async throws {
        let users = Users(failing: RPCError.unavailable(reason: "database_unavailable"))
        await users.gate.open()
        let checks = SessionChecks(limit: 1, send: users.send)
        let (first, alone) = try await Self.holdTheSlot(checks)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for token in ["bob-token", "admin-token"] {
                group.addTask {
                    await #expect(throws: RPCError.unavailable(reason: "database_unavailable")) {
                        _ = try await Self.check(checks, token) { throw RPCError.internalError }
                    }
                }
            }
            try await Self.waitUntil("both queued") { checks.queued == 2 }
            await first.open()
            _ = try await alone.value
            try await group.waitForAll()
        }
        try await Self.waitUntil("the slot given back") { checks.inFlight == 0 }
        let answered = try await Self.check(checks, "bob-token") { GatewayHarness.sessions["bob-token"]! }
        #expect(answered.user.username == "bob")
    }

    @Test func aCancelledCallStopsWaitingAndItsBatchGoesOnForTheOthers() async throws {
        let users = Users()
        let checks = SessionChecks(limit: 1, send: users.send)
        let (first, alone) = try await Self.holdTheSlot(checks)
        let leaving = Task { try await Self.check(checks, "admin-token") { throw RPCError.internalError } }
        let staying = Task { try await Self.check(checks, "bob-token") { throw RPCError.internalError } }
        try await Self.waitUntil("both queued") { checks.queued == 2 }
        // Cancelled while queued: it stops waiting at once, before any batch left.
        leaving.cancel()
        await #expect(throws: CancellationError.self) { _ = try await leaving.value }
        await first.open()
        _ = try await alone.value
        try await Self.waitUntil("the batch sent") { users.batches.withLockedValue { $0.count } == 1 }
        #expect(users.batches.withLockedValue { $0 } == [["bob-token"]])
        // Cancelled while its batch is in flight: it stops waiting; the batch still answers bob.
        let late = Task { try await Self.check(checks, "admin-token") { throw RPCError.internalError } }
        try await Self.waitUntil("queued behind the batch") { checks.queued == 1 }
        late.cancel()
        await #expect(throws: CancellationError.self) { _ = try await late.value }
        await users.gate.open()
        #expect(try await staying.value.user.username == "bob")
        try await Self.waitUntil("the slot given back") { checks.inFlight == 0 }
        // The cancelled call's token was dropped from the queue, not sent.
        #expect(users.batches.withLockedValue { $0 } == [["bob-token"]])
    }

    /// The tokens of the calls queued behind alice's held check: two users' and a forged one.
    static let queuedTokens = ["bob-token", "forged", "admin-token"]

    /// Through the gateway's dispatcher, with one check in flight at most: alice's `users.me`
    /// check is held in the users stand-in (`auth.session` answers only once `whileQueued` has
    /// run) while calls with ``queuedTokens`` queue behind it. Returns their replies by token.
    static func queueBehindAHeldCheck(
        _ gateway: GatewayHarness, whileQueued: @escaping () async throws -> Void = {}
    ) async throws -> [String: GatewayHarness.Reply] {
        let first = Gate()
        gateway.services.answer(InternalMethod.Users.session) { params, _ in
            await first.wait()
            let token = (params as! SessionTokenParams).token
            guard let session = GatewayHarness.sessions[token] else { throw RPCError.unauthenticated(reason: "invalid_token") }
            return try JSONValue(encoding: session)
        }
        let head = Task { try await gateway.call("users.me", token: "alice-token") }
        try await Self.waitUntil("the first check in flight") {
            gateway.services.recorded(InternalMethod.Users.session).count == 1
        }
        return try await withThrowingTaskGroup(of: (String, GatewayHarness.Reply).self) { group in
            for token in queuedTokens {
                group.addTask { (token, try await gateway.call("users.me", token: token)) }
            }
            try await Self.waitUntil("the others queued") { gateway.api.sessionChecks.queued == queuedTokens.count }
            try await whileQueued()
            await first.open()
            #expect(try await head.value.result?["user"]?["username"] == "alice")
            var replies: [String: GatewayHarness.Reply] = [:]
            for try await (token, reply) in group { replies[token] = reply }
            return replies
        }
    }

    /// Each queued call got what its own `auth.session` would have given.
    static func expectOwnAnswers(_ replies: [String: GatewayHarness.Reply]) {
        #expect(replies["forged"]?.code == 401 && replies["forged"]?.reason == "invalid_token")
        #expect(replies["forged"]?.error?["message"] == "Unauthenticated")
        #expect(replies["bob-token"]?.result?["user"]?["username"] == "bob")
        #expect(replies["admin-token"]?.result?["user"]?["username"] == "root")
    }

    /// Calls whose checks queued answer as the one-token check answers them, and the users
    /// service saw one `auth.sessions` call.
    @Test func signedInCallsQueuedBehindACheckShareOneBatchAndAnswerAsAlone() async throws {
        try await GatewayHarness.with(sessionChecksInFlight: 1) { gateway in
            let costed = NIOLockedValueBox<Task<GatewayHarness.Reply, any Error>?>(nil)
            let replies = try await Self.queueBehindAHeldCheck(gateway) {
                // A call that asks for its cost does not queue: it makes its own check.
                costed.withLockedValue {
                    $0 = Task {
                        try await RequestCost.$current.withValue(RequestCost(service: "gateway")) {
                            try await gateway.call("users.me", token: "bob-token")
                        }
                    }
                }
                try await Self.waitUntil("the costed call's own check") {
                    gateway.services.recorded(InternalMethod.Users.session).count == 2
                }
                #expect(gateway.api.sessionChecks.queued == Self.queuedTokens.count)
            }
            Self.expectOwnAnswers(replies)
            for reply in replies.values {
                // Timed as its own hop, under the batch's method.
                #expect(reply.header("Server-Timing").joined().contains(InternalMethod.Users.sessions))
            }
            let costedReply = try await #require(costed.withLockedValue { $0 }).value
            #expect(costedReply.result?["user"]?["username"] == "bob")
            let batches = gateway.services.recorded(InternalMethod.Users.sessions)
            #expect(batches.count == 1)
            let sent = try #require(batches.first?.params["tokens"]?.arrayValue).compactMap(\.stringValue)
            #expect(sent.count == Self.queuedTokens.count && Set(sent) == Set(Self.queuedTokens))
            #expect(gateway.services.recorded(InternalMethod.Users.session).count == 2)
        }
    }

    /// A users service that does not know `auth.sessions` yet (an upgrade under way): the
    /// queued tokens are checked one by one with `auth.session`, and each call still gets its
    /// own answer.
    @Test func aUsersServiceWithoutBatchesGetsTheQueuedTokensOneByOne() async throws {
        try await GatewayHarness.with(sessionChecksInFlight: 1) { gateway in
            gateway.services.answer(InternalMethod.Users.sessions) { _, _ in
                throw RPCError.methodNotFound(InternalMethod.Users.sessions)
            }
            Self.expectOwnAnswers(try await Self.queueBehindAHeldCheck(gateway))
            #expect(gateway.services.recorded(InternalMethod.Users.sessions).count == 1)
            #expect(gateway.services.recorded(InternalMethod.Users.session).count == 1 + Self.queuedTokens.count)
        }
    }
}
