import Foundation
import MovRAPI
import MovRPostgres
import MovRRPC
import Testing
@testable import MovRUsers

/// The store against a real PostgreSQL (a fresh database per test).
@Suite struct UsersStoreTests {
    typealias Fixture = UsersTestFixture

    @Test func registerStoresANormalizedCityAndItsRegion() async throws {
        try await Fixture.withStore { store in
            let user = try await store.register(Fixture.registration("ada", city: "  NEW   york "))
            #expect(user.username == "ada")
            #expect(user.email == "ada@example.com")
            #expect(user.firstName == "Ada" && user.lastName == "Lovelace")
            #expect(user.city == "new york")
            #expect(user.region == "us-east1")
            #expect(abs(user.createdAt.timeIntervalSinceNow) < 600)
            #expect(try await store.get(id: user.id) == user)

            let paris = try await store.register(Fixture.registration("pierre", city: "Paris"))
            #expect(paris.region == "europe-west1")
        }
    }

    @Test func passwordIsStoredOnlyAsAnScryptHash() async throws {
        try await Fixture.withStore { store in
            let user = try await store.register(Fixture.registration("hashme", password: "plain-text-pw"))
            let rows = try await store.database.query("SELECT password_hash FROM users WHERE id = \(user.id)")
            let stored = try #require(try rows.first?.decode("password_hash", as: String.self))
            #expect(stored.hasPrefix("scrypt$12$8$1$"))
            #expect(!stored.contains("plain-text-pw"))
        }
    }

    @Test func duplicateUsernameIsUsernameTaken() async throws {
        try await Fixture.withStore { store in
            _ = try await store.register(Fixture.registration("taken"))
            let error = await #expect(throws: RPCError.self) {
                try await store.register(Fixture.registration("taken", password: "another-pass"))
            }
            #expect(error?.code == 409)
            #expect(error?.data?.reason == "username_taken")
            let count = try await store.database.query("SELECT count(*) AS n FROM users")
            #expect(try count.first?.decode("n", as: Int.self) == 1)
        }
    }

    @Test func registerRevalidatesParams() async throws {
        try await Fixture.withStore { store in
            let unknownCity = await #expect(throws: RPCError.self) {
                try await store.register(Fixture.registration("nocity", city: "Atlantis"))
            }
            #expect(unknownCity?.code == RPCError.Code.invalidParams)
            #expect(unknownCity?.data?.reason == "unknown_city")
            #expect(unknownCity?.data?.field == "city")

            let badName = await #expect(throws: RPCError.self) {
                try await store.register(Fixture.registration("Upper Case"))
            }
            #expect(badName?.code == RPCError.Code.invalidParams)
            #expect(badName?.data?.field == "username")

            let shortPassword = await #expect(throws: RPCError.self) {
                try await store.register(Fixture.registration("shorty", password: "short"))
            }
            #expect(shortPassword?.data?.field == "password")
        }
    }

    @Test func loginOpensASessionThatResolvesToTheUser() async throws {
        try await Fixture.withStore { store in
            let user = try await store.register(Fixture.registration("grace", password: "hopper-1906"))
            let login = try await store.login(username: "grace", password: "hopper-1906")
            #expect(login.user == user)
            #expect(SessionToken.isWellFormed(login.token))
            let lifetime = login.expiresAt.timeIntervalSinceNow
            #expect(lifetime > 23 * 3600 && lifetime < 25 * 3600)

            let session = try await store.session(token: login.token)
            #expect(session.user == user)
            #expect(session.roles == [])
            #expect(abs(session.expiresAt.timeIntervalSince(login.expiresAt)) < 0.001)

            // Only the hash of the token is stored.
            let rows = try await store.database.query("SELECT encode(token_hash, 'hex') AS h FROM sessions")
            #expect(rows.count == 1)
            #expect(try rows.first?.decode("h", as: String.self) == SessionToken.hex(try SessionToken.hash(login.token)))

            let second = try await store.login(username: "grace", password: "hopper-1906")
            #expect(second.token != login.token)
        }
    }

    @Test func unknownUserWrongPasswordAndDeletedUserFailAlike() async throws {
        try await Fixture.withStore { store in
            _ = try await store.register(Fixture.registration("alan", password: "turing-1912"))
            let deleted = try await store.register(Fixture.registration("gone", password: "gone-gone-gone"))
            try await store.delete(id: deleted.id)

            var errors: [RPCError] = []
            for (username, password) in [("alan", "turing-1913"), ("nobody", "turing-1912"), ("gone", "gone-gone-gone")] {
                let error = await #expect(throws: RPCError.self) {
                    try await store.login(username: username, password: password)
                }
                errors.append(try #require(error))
            }
            for error in errors {
                #expect(error == errors[0])
                #expect(error.code == 401)
                #expect(error.data?.reason == "invalid_credentials")
            }
        }
    }

    @Test func logoutRevokesAndIsIdempotent() async throws {
        try await Fixture.withStore { store in
            _ = try await store.register(Fixture.registration("linus"))
            let login = try await store.login(username: "linus", password: "password-123")
            let other = try await store.login(username: "linus", password: "password-123")
            try await store.logout(token: login.token)
            try await store.logout(token: login.token)
            try await store.logout(token: try SessionToken.generate())
            try await store.logout(token: "garbage")

            let error = await #expect(throws: RPCError.self) { try await store.session(token: login.token) }
            #expect(error?.code == 401)
            #expect(error?.data?.reason == "invalid_token")
            // The user's other session is untouched.
            #expect(try await store.session(token: other.token).user.username == "linus")
        }
    }

    @Test func unknownAndMalformedTokensAreInvalid() async throws {
        try await Fixture.withStore { store in
            for token in [try SessionToken.generate(), "", "not-a-token", String(repeating: "x", count: 5000)] {
                let error = await #expect(throws: RPCError.self) { try await store.session(token: token) }
                #expect(error?.code == 401)
                #expect(error?.data?.reason == "invalid_token")
            }
        }
    }

    @Test func expiredSessionIsTokenExpired() async throws {
        try await Fixture.withStore { store in
            let user = try await store.register(Fixture.registration("expiry"))
            let token = try SessionToken.generate()
            _ = try await store.database.query("""
                INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                VALUES (decode(\(SessionToken.hex(try SessionToken.hash(token))), 'hex'), \(user.id),
                        now() - interval '2 days', now() - interval '1 second')
                """)
            let error = await #expect(throws: RPCError.self) { try await store.session(token: token) }
            #expect(error?.code == 401)
            #expect(error?.data?.reason == "token_expired")
        }
    }

    @Test func configuredLifetimeSetsExpiry() async throws {
        try await Fixture.withStore(sessionLifetime: .seconds(3600)) { store in
            _ = try await store.register(Fixture.registration("shortlived"))
            let login = try await store.login(username: "shortlived", password: "password-123")
            let lifetime = login.expiresAt.timeIntervalSinceNow
            #expect(lifetime > 3000 && lifetime <= 3600)
        }
    }

    @Test func deleteSoftDeletesAndRevokesEverySession() async throws {
        try await Fixture.withStore { store in
            let user = try await store.register(Fixture.registration("leaving"))
            let first = try await store.login(username: "leaving", password: "password-123")
            let second = try await store.login(username: "leaving", password: "password-123")
            try await store.delete(id: user.id)

            #expect(try await store.get(id: user.id) == nil)
            for token in [first.token, second.token] {
                let error = await #expect(throws: RPCError.self) { try await store.session(token: token) }
                #expect(error?.data?.reason == "invalid_token")
            }
            let rows = try await store.database.query("""
                SELECT (SELECT deleted_at IS NOT NULL FROM users WHERE id = \(user.id)) AS deleted,
                       (SELECT count(*) FROM sessions WHERE user_id = \(user.id) AND revoked_at IS NULL) AS live
                """)
            #expect(try rows.first?.decode("deleted", as: Bool.self) == true)
            #expect(try rows.first?.decode("live", as: Int.self) == 0)

            // A retried delete succeeds; an unknown id is 404; the name stays taken.
            try await store.delete(id: user.id)
            let missing = await #expect(throws: RPCError.self) { try await store.delete(id: UUID()) }
            #expect(missing?.code == 404)
            #expect(missing?.data?.reason == "user_not_found")
            let again = await #expect(throws: RPCError.self) {
                try await store.register(Fixture.registration("leaving"))
            }
            #expect(again?.data?.reason == "username_taken")
        }
    }

    @Test func grantRoleAddsTheRoleOnce() async throws {
        try await Fixture.withStore { store in
            let user = try await store.register(Fixture.registration("boss"))
            #expect(try await store.grantRole(username: "boss", role: "admin") == user)
            _ = try await store.grantRole(username: "boss", role: "admin")
            #expect(try await store.roles(userID: user.id) == ["admin"])

            let login = try await store.login(username: "boss", password: "password-123")
            #expect(try await store.session(token: login.token).roles == ["admin"])

            let missing = await #expect(throws: RPCError.self) {
                try await store.grantRole(username: "nobody", role: "admin")
            }
            #expect(missing?.code == 404)
            let badRole = await #expect(throws: RPCError.self) {
                try await store.grantRole(username: "boss", role: "superuser")
            }
            #expect(badRole?.code == RPCError.Code.invalidParams)
            #expect(try await store.roles(userID: user.id) == ["admin"])
        }
    }

    @Test func repeatedFailuresLockTheUsernameUntilTheWindowPasses() async throws {
        let clock = ManualClock()
        let limiter = LoginRateLimiter(policy: .init(maxFailures: 5, window: .seconds(300), maxAttemptsPerSecond: 1000),
                                       now: { clock.now })
        try await Fixture.withStore(rateLimiter: limiter) { store in
            _ = try await store.register(Fixture.registration("target", password: "right-password"))
            _ = try await store.register(Fixture.registration("bystander", password: "right-password"))

            // A success forgets earlier failures.
            for _ in 0..<4 {
                await #expect(throws: RPCError.self) { try await store.login(username: "target", password: "wrong-one") }
            }
            _ = try await store.login(username: "target", password: "right-password")

            for _ in 0..<5 {
                let error = await #expect(throws: RPCError.self) {
                    try await store.login(username: "target", password: "wrong-one")
                }
                #expect(error?.data?.reason == "invalid_credentials")
            }
            let locked = await #expect(throws: RPCError.self) {
                try await store.login(username: "target", password: "right-password")
            }
            #expect(locked?.code == 429)
            #expect(locked?.data?.reason == "too_many_attempts")
            #expect(locked?.data?.retryable == true)
            _ = try await store.login(username: "bystander", password: "right-password")

            clock.advance(by: .seconds(301))
            _ = try await store.login(username: "target", password: "right-password")
        }
    }
}
