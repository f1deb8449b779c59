import Foundation
import MovRAPI
import MovRPostgres
import NIOPosix
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
            await #expect(throws: UsersError.usernameTaken) {
                try await store.register(Fixture.registration("taken", password: "another-pass"))
            }
            let count = try await store.database.query("SELECT count(*) AS n FROM users")
            #expect(try count.first?.decode("n", as: Int.self) == 1)
        }
    }

    @Test func registerRevalidatesParams() async throws {
        try await Fixture.withStore { store in
            await #expect(throws: UsersError.unknownCity) {
                try await store.register(Fixture.registration("nocity", city: "Atlantis"))
            }

            let badName = await #expect(throws: UsersError.self) {
                try await store.register(Fixture.registration("Upper Case"))
            }
            guard case .invalidParams(let nameRule) = badName else {
                Issue.record("expected invalid params, got \(String(describing: badName))")
                return
            }
            #expect(nameRule.field == "username")

            let shortPassword = await #expect(throws: UsersError.self) {
                try await store.register(Fixture.registration("shorty", password: "short"))
            }
            guard case .invalidParams(let passwordRule) = shortPassword else {
                Issue.record("expected invalid params, got \(String(describing: shortPassword))")
                return
            }
            #expect(passwordRule.field == "password")
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

            for (username, password) in [("alan", "turing-1913"), ("nobody", "turing-1912"), ("gone", "gone-gone-gone")] {
                await #expect(throws: UsersError.invalidCredentials, "\(username)") {
                    try await store.login(username: username, password: password)
                }
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

            await #expect(throws: UsersError.invalidToken) { try await store.session(token: login.token) }
            // The user's other session is untouched.
            #expect(try await store.session(token: other.token).user.username == "linus")
        }
    }

    @Test func unknownAndMalformedTokensAreInvalid() async throws {
        try await Fixture.withStore { store in
            for token in [try SessionToken.generate(), "", "not-a-token", String(repeating: "x", count: 5000)] {
                await #expect(throws: UsersError.invalidToken) { try await store.session(token: token) }
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
            await #expect(throws: UsersError.tokenExpired) { try await store.session(token: token) }
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
                await #expect(throws: UsersError.invalidToken) { try await store.session(token: token) }
            }
            let rows = try await store.database.query("""
                SELECT (SELECT deleted_at IS NOT NULL FROM users WHERE id = \(user.id)) AS deleted,
                       (SELECT count(*) FROM sessions WHERE user_id = \(user.id) AND revoked_at IS NULL) AS live
                """)
            #expect(try rows.first?.decode("deleted", as: Bool.self) == true)
            #expect(try rows.first?.decode("live", as: Int.self) == 0)

            // A retried delete succeeds; an unknown id is not found; the name stays taken.
            try await store.delete(id: user.id)
            await #expect(throws: UsersError.userNotFound) { try await store.delete(id: UUID()) }
            await #expect(throws: UsersError.usernameTaken) {
                try await store.register(Fixture.registration("leaving"))
            }
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

            await #expect(throws: UsersError.userNotFound) {
                try await store.grantRole(username: "nobody", role: "admin")
            }
            await #expect(throws: UsersError.unknownRole) {
                try await store.grantRole(username: "boss", role: "superuser")
            }
            #expect(try await store.roles(userID: user.id) == ["admin"])
        }
    }

    @Test func repeatedFailuresSlowTheGuesserNotTheOwner() async throws {
        let clock = ManualClock()
        let throttle = AuthThrottle(now: { clock.now })
        try await Fixture.withStore(throttle: throttle) { store in
            _ = try await store.register(Fixture.registration("target", password: "right-password"), clientAddress: "10.0.0.9")
            _ = try await store.register(Fixture.registration("bystander", password: "right-password"), clientAddress: "10.0.0.9")

            // A success forgets the pair's earlier failures.
            for _ in 0..<4 {
                await #expect(throws: UsersError.invalidCredentials) {
                    try await store.login(username: "target", password: "wrong-one", clientAddress: "10.6.6.6")
                }
            }
            _ = try await store.login(username: "target", password: "right-password", clientAddress: "10.6.6.6")

            for _ in 0..<5 {
                await #expect(throws: UsersError.invalidCredentials) {
                    try await store.login(username: "target", password: "wrong-one", clientAddress: "10.6.6.6")
                }
            }
            await #expect(throws: UsersError.tooManyAttempts) {
                try await store.login(username: "target", password: "right-password", clientAddress: "10.6.6.6")
            }
            // The owner, from another address, is not locked out by the guesser.
            _ = try await store.login(username: "target", password: "right-password", clientAddress: "10.0.0.9")
            _ = try await store.login(username: "bystander", password: "right-password", clientAddress: "10.6.6.6")

            clock.advance(by: .seconds(1))
            _ = try await store.login(username: "target", password: "right-password", clientAddress: "10.6.6.6")
        }
    }

    /// Occupies the pool's only thread until `gate` is signalled; returns once the thread is
    /// held, so work submitted after it waits in the queue (a hash submitted first would run
    /// at once and never be counted as waiting).
    static func holdOnlyThread(of pool: NIOThreadPool, until gate: DispatchSemaphore) async throws -> Task<Void, any Error> {
        let (held, holding) = AsyncStream<Void>.makeStream()
        let holder = Task {
            defer { holding.finish() }
            try await pool.runIfActive {
                holding.yield()
                gate.wait()
            }
        }
        var iterator = held.makeAsyncIterator()
        guard await iterator.next() != nil else {
            try await holder.value
            throw CancellationError()
        }
        return holder
    }

    /// Polls `condition` until it holds, for up to a minute.
    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() {
            try #require(ContinuousClock.now < deadline, "the condition did not hold within a minute")
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func aFullHashingQueueIsShed() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let hasher = PasswordHasher(threadPool: pool, parameters: UsersTestFixture.testParameters, maxPending: 2)
        // Hold the only hashing thread, so admitted hashes wait in the queue.
        let gate = DispatchSemaphore(value: 0)
        let holder = try await Self.holdOnlyThread(of: pool, until: gate)
        let admitted = [Task { try await UsersStore.shedding { try await hasher.hash("correct horse") } },
                        Task { try await UsersStore.shedding { try await hasher.hash("correct horse") } }]
        try await Self.waitUntil { hasher.pendingCount == 2 }
        for _ in 0..<10 {
            await #expect(throws: UsersError.hashingOverloaded) {
                try await UsersStore.shedding { try await hasher.hash("correct horse") }
            }
        }
        gate.signal()
        try await holder.value
        for task in admitted { #expect(PasswordHash(encoded: try await task.value) != nil) }
        #expect(hasher.pendingCount == 0)
        try await pool.shutdownGracefully()
    }

    @Test func hashesThatWouldWaitLongerThanTheBoundAreShed() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        // A queue long enough by count, but a wait bound shorter than one hash.
        let hasher = PasswordHasher(threadPool: pool, threads: 1, parameters: UsersTestFixture.testParameters,
                                    maxPending: 100, maxWait: .milliseconds(1))
        let gate = DispatchSemaphore(value: 0)
        let holder = try await Self.holdOnlyThread(of: pool, until: gate)
        // The first hash finds the thread free by the hasher's count, so it is admitted.
        let first = Task { try await hasher.hash("correct horse") }
        try await Self.waitUntil { hasher.pendingCount == 1 }
        #expect(hasher.expectedWait > .milliseconds(1))
        await #expect(throws: PasswordHashingOverloaded.self) { try await hasher.hash("correct horse") }
        gate.signal()
        try await holder.value
        #expect(PasswordHash(encoded: try await first.value) != nil)
        #expect(hasher.pendingCount == 0 && hasher.expectedWait == .zero)
        try await pool.shutdownGracefully()
    }

    @Test func aHashWithWeakerParametersIsUpgradedAtSignIn() async throws {
        try await UsersTestFixture.withStore { store in
            _ = try await store.register(UsersTestFixture.registration("upgrader"))
            // The same database, read by a users service configured with a higher cost.
            let pool = NIOThreadPool(numberOfThreads: 1)
            pool.start()
            defer { pool.shutdownGracefully { _ in } }
            var stronger = UsersTestFixture.testParameters
            stronger.log2N += 1
            let upgrading = UsersStore(database: store.database, locality: try UsersTestFixture.locality(),
                                       passwordHasher: PasswordHasher(threadPool: pool, parameters: stronger))
            func storedParameters() async throws -> ScryptParameters? {
                let rows = try await store.database.query("SELECT password_hash FROM users WHERE username = 'upgrader'")
                return PasswordHash(encoded: try rows.first?.decode("password_hash", as: String.self) ?? "")?.parameters
            }
            #expect(try await storedParameters() == UsersTestFixture.testParameters)
            _ = try await upgrading.login(username: "upgrader", password: "password-123")
            #expect(try await storedParameters() == stronger)
            // The upgraded hash still signs the owner in, and a wrong password is still refused.
            _ = try await upgrading.login(username: "upgrader", password: "password-123")
            await #expect(throws: UsersError.invalidCredentials) {
                try await upgrading.login(username: "upgrader", password: "wrong-password")
            }
        }
    }

    @Test func endedSessionsAreSweptAndLiveOnesStay() async throws {
        try await UsersTestFixture.withStore { store in
            _ = try await store.register(UsersTestFixture.registration("sweeper"))
            var tokens: [String] = []
            for _ in 0..<5 { tokens.append(try await store.login(username: "sweeper", password: "password-123").token) }
            // Two expired two days ago, one revoked two days ago, one revoked just now, one live.
            func age(_ token: String, _ column: String) async throws {
                let hash = SessionToken.hex(try SessionToken.hash(token))
                _ = try await store.database.query("""
                    UPDATE sessions SET \(unsafeSQL: column) = now() - interval '2 days' WHERE token_hash = decode(\(hash), 'hex')
                    """)
            }
            try await age(tokens[0], "expires_at")
            try await age(tokens[1], "expires_at")
            try await age(tokens[2], "revoked_at")
            try await store.logout(token: tokens[3])
            #expect(try await store.deleteEndedSessions(batch: 1) == 3, "batches repeat until none are left")
            #expect(try await store.deleteEndedSessions() == 0)
            let left = try await store.database.query("SELECT count(*)::int8 AS n FROM sessions")
            #expect(try left.first?.decode("n", as: Int.self) == 2)
            _ = try await store.session(token: tokens[4])
        }
    }
}
