import Foundation
import MovRAPI
import MovRRPC
import MovRTool
import Testing

/// The gateway's shared session checks through real executables: signed-in calls sent at once
/// queue behind the check in flight and leave as `auth.sessions` batches, and each still gets
/// the answer of its own token.
@Suite struct SessionBatchingTests {
    enum Outcome: Equatable {
        case user(UUID)
        case refused(Int, String?)
    }

    @Test func callsSentAtOnceShareChecksAndEachGetsItsOwnAnswer() async throws {
        let domain = try await Domain.connect()
        var riders: [SignedInUser] = []
        for city in ["new york", "boston", "paris"] {
            riders.append(try await domain.newUser(city: city, prefix: "batch"))
        }
        let leaver = try await domain.newUser(prefix: "batch")
        _ = try await domain.call("auth.logout", EmptyObject(), as: EmptyObject.self, as: leaver)
        // Three valid tokens, a revoked one and one that never existed.
        let tokens = riders.map(\.token) + [leaver.token, "forged-token-that-was-never-issued-by-anyone"]
        let expected = riders.map { Outcome.user($0.user.id) } + [.refused(401, "invalid_token"), .refused(401, "invalid_token")]

        // Each round sends 48 calls at once; a call whose check queued names `auth.sessions` in
        // its Server-Timing. Rounds go on until one did (a slow machine may answer each check
        // before the next call arrives), at most 20.
        var batched = 0
        var answered = 0
        for _ in 0..<20 where batched == 0 {
            try await withThrowingTaskGroup(of: (Int, Outcome, Bool).self) { group in
                for index in 0..<48 {
                    let which = index % tokens.count
                    group.addTask {
                        do {
                            let reply = try await domain.api.callReportingHeaders("users.me", EmptyObject(), as: UserResult.self,
                                                                                  token: tokens[which])
                            let shared = reply.serverTiming.contains { $0.description.contains("auth.sessions") }
                            return (which, .user(reply.result.user.id), shared)
                        } catch let error as RPCError {
                            return (which, .refused(error.code, error.data?.reason), false)
                        }
                    }
                }
                for try await (which, outcome, shared) in group {
                    #expect(outcome == expected[which], "token \(which)")
                    answered += 1
                    if shared { batched += 1 }
                }
            }
        }
        #expect(batched > 0, "no call's session check was shared in \(answered) calls")
        // The revoked token stays refused, alone too.
        await expectRPCError(401, reason: "invalid_token") {
            try await domain.call("users.me", EmptyObject(), as: UserResult.self, as: leaver)
        }
        await domain.shutdown()
    }
}
