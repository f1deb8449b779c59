import Foundation
import MovRAPI
import MovRInternalAPI
import MovRPostgres
import Testing
@testable import MovRUsers

/// `auth.sessions`: many tokens checked in one statement, each answered as `auth.session`
/// would answer it alone (a real PostgreSQL, a fresh database per test).
@Suite struct UsersSessionsBatchTests {
    typealias Fixture = UsersTestFixture

    @Test func eachTokenGetsWhatItsOwnCheckWouldGiveInOrder() async throws {
        try await Fixture.withStore { store in
            _ = try await store.register(Fixture.registration("ann"))
            _ = try await store.register(Fixture.registration("ben", city: "paris"))
            let leaver = try await store.register(Fixture.registration("leaver"))
            let ann = try await store.login(username: "ann", password: "password-123").token
            let ben = try await store.login(username: "ben", password: "password-123").token
            let revoked = try await store.login(username: "ann", password: "password-123").token
            try await store.logout(token: revoked)
            let ofDeleted = try await store.login(username: "leaver", password: "password-123").token
            try await store.delete(id: leaver.id)
            let expired = try SessionToken.generate()
            let annID = try await store.session(token: ann).user.id
            _ = try await store.database.query("""
                INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                VALUES (decode(\(SessionToken.hex(try SessionToken.hash(expired))), 'hex'), \(annID),
                        now() - interval '2 days', now() - interval '1 second')
                """)
            let unknown = try SessionToken.generate()

            let tokens = [ben, "not-a-token", ann, expired, revoked, unknown, ofDeleted, ann, ""]
            let checks = try await store.sessions(tokens: tokens)
            #expect(checks.count == tokens.count)
            for (token, check) in zip(tokens, checks) {
                // The answer of the one-token check, compared member by member.
                do {
                    let alone = try await store.session(token: token)
                    guard case .valid(let session) = check else {
                        Issue.record("\(token.prefix(6))…: expected a session, got \(check)")
                        continue
                    }
                    #expect(session.user == alone.user)
                    #expect(session.roles == alone.roles)
                    #expect(session.expiresAt == alone.expiresAt)
                } catch let error as UsersError {
                    guard case .refused(let reason) = check else {
                        Issue.record("\(token.prefix(6))…: expected \(error), got a session")
                        continue
                    }
                    #expect(reason == error.sessionReason)
                }
            }
            let reasons = checks.map { check -> String in
                switch check {
                case .valid(let session): session.user.username
                case .refused(let reason): reason
                }
            }
            #expect(reasons == ["ben", "invalid_token", "ann", "token_expired", "invalid_token", "invalid_token",
                                "invalid_token", "ann", "invalid_token"])
        }
    }

    @Test func noTokensOrTooManyAreRefusedBeforeAnyQuery() async throws {
        try await Fixture.withStore { store in
            for count in [0, SessionTokensParams.maxTokens + 1] {
                let tokens = try (0..<count).map { _ in try SessionToken.generate() }
                let error = await #expect(throws: UsersError.self) { try await store.sessions(tokens: tokens) }
                guard case .invalidParams(let rule) = error else {
                    Issue.record("expected invalid params for \(count) tokens, got \(String(describing: error))")
                    continue
                }
                #expect(rule.field == "tokens")
            }
            let full = try (0..<SessionTokensParams.maxTokens).map { _ in try SessionToken.generate() }
            let checks = try await store.sessions(tokens: full)
            #expect(checks.count == full.count)
            #expect(checks.allSatisfy { if case .refused(let reason) = $0 { reason == "invalid_token" } else { false } })
        }
    }
}
