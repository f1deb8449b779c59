import FoundationEssentials
import MovRAPI
import MovRInternalAPI
import MovRLocality
import MovRPostgres

/// Accounts and sessions: all SQL of the users service, plus the password and token rules
/// around it. Errors meant for callers are ``UsersError``s; anything else (database down, a
/// libcrypto failure) propagates and the dispatcher reports it as an internal error without
/// details.
public struct UsersStore: Sendable {
    public let database: PostgresClient
    public let passwordHasher: PasswordHasher
    public let throttle: AuthThrottle
    /// How long a session token stays valid after login.
    public let sessionLifetime: Duration
    let locality: Locality

    /// Roles `users.grant_role` may grant.
    public static let grantableRoles: Set<String> = ["admin"]

    public init(database: PostgresClient, locality: Locality, passwordHasher: PasswordHasher,
                throttle: AuthThrottle = AuthThrottle(), sessionLifetime: Duration = .seconds(24 * 3600)) {
        self.database = database
        self.locality = locality
        self.passwordHasher = passwordHasher
        self.throttle = throttle
        self.sessionLifetime = sessionLifetime
    }

    static let userColumns = "id, username, email, first_name, last_name, city, region, created_at"

    // MARK: Registration

    /// Creates the account. A taken username is ``UsersError/usernameTaken``, also when the
    /// same registration is retried after it succeeded. Throttled per client and per process
    /// (``AuthThrottle``): ``UsersError/tooManyAttempts``; a full hashing queue is
    /// ``UsersError/hashingOverloaded``.
    public func register(_ params: UsersRegisterParams, clientAddress: String? = nil) async throws -> User {
        try Self.validate(params)
        try Self.enforce(throttle.beginRegistration(client: clientAddress ?? "-"))
        let region: String
        do {
            region = try locality.region(ofCity: params.city)
        } catch {
            throw UsersError.unknownCity
        }
        let city = PlaceName.normalized(params.city)
        let passwordHash = try await Self.shedding { try await passwordHasher.hash(params.password) }
        let rows: PostgresRows
        do {
            rows = try await database.query("""
                INSERT INTO users (id, username, email, first_name, last_name, city, region, password_hash)
                VALUES (\(UUID()), \(params.username), \(params.email), \(params.firstName), \(params.lastName),
                        \(city), \(region), \(passwordHash))
                RETURNING \(unsafeSQL: Self.userColumns)
                """)
        } catch let error as PostgresError
                    where error.isUniqueViolation
                    && (error.constraintName == nil || error.constraintName == UsersSchema.usernameConstraint) {
            throw UsersError.usernameTaken
        }
        guard let row = rows.first else { throw PostgresError(code: .invalidQuery) }
        return try Self.user(from: row)
    }

    // MARK: Sessions

    /// ``UsersError/tooManyAttempts`` for a refused attempt.
    static func enforce(_ decision: AuthThrottle.Decision) throws {
        guard case .retryAfter = decision else { return }
        throw UsersError.tooManyAttempts
    }

    /// A full hashing queue is ``UsersError/hashingOverloaded``: shed now, not answered late.
    static func shedding<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch is PasswordHashingOverloaded {
            throw UsersError.hashingOverloaded
        }
    }

    /// The user's row and stored hash if `password` is theirs; nil for a wrong password, an
    /// unknown or a deleted user (after the same scrypt work, so timing does not tell).
    private func passwordChecked(username: String, password: String) async throws -> (row: PostgresRow, storedHash: String)? {
        let rows = try await database.query("""
            SELECT \(unsafeSQL: Self.userColumns), password_hash FROM users
            WHERE username = \(username) AND deleted_at IS NULL
            """)
        guard let row = rows.first else {
            try await Self.shedding { try await passwordHasher.verifyDummy(password) }
            return nil
        }
        let storedHash = try row.decode("password_hash", as: String.self)
        guard try await Self.shedding({ try await passwordHasher.verify(password, storedHash: storedHash) }) else {
            return nil
        }
        return (row, storedHash)
    }

    /// Re-hashes a password stored with weaker scrypt parameters than the hasher's, now that the
    /// plain password is at hand (the only moment it is). Best effort: a shed hash or a failed
    /// update leaves the old, still valid hash for the next sign-in. The update applies only if
    /// the stored hash is still the one verified, so it never overwrites a concurrent change.
    func upgradeHashIfWeak(userID: UUID, password: String, storedHash: String) async {
        guard let stored = PasswordHash(encoded: storedHash),
              stored.parameters.isWeaker(than: passwordHasher.parameters),
              let upgraded = try? await passwordHasher.hash(password) else { return }
        _ = try? await database.query("""
            UPDATE users SET password_hash = \(upgraded) WHERE id = \(userID) AND password_hash = \(storedHash)
            """)
    }

    /// Checks the password and opens a session. Throttled by ``throttle``:
    /// ``UsersError/tooManyAttempts`` while the client, the (client, username) pair or the
    /// username must wait; ``UsersError/hashingOverloaded`` when the hashing queue is full.
    public func login(username: String, password: String, clientAddress: String? = nil) async throws -> AuthLoginResult {
        try Self.validate(AuthLoginParams(username: username, password: password))
        let throttleKey = username.lowercased()
        let client = clientAddress ?? "-"
        try Self.enforce(throttle.beginLogin(client: client, username: throttleKey))

        let verified: (row: PostgresRow, storedHash: String)?
        do {
            verified = try await passwordChecked(username: username, password: password)
        } catch {
            // Shed (503) or a database failure: no password was checked, so it is no failure.
            throttle.loginAbandoned(client: client, username: throttleKey)
            throw error
        }
        guard let (row, storedHash) = verified else {
            throttle.loginFailed(client: client, username: throttleKey)
            throw UsersError.invalidCredentials
        }
        throttle.loginSucceeded(client: client, username: throttleKey)

        let user = try Self.user(from: row)
        await upgradeHashIfWeak(userID: user.id, password: password, storedHash: storedHash)
        let token = try SessionToken.generate()
        let tokenHash = try SessionToken.hashHex(token)
        let lifetimeSeconds = Double(sessionLifetime.components.seconds)
        let inserted = try await database.query("""
            INSERT INTO sessions (token_hash, user_id, expires_at)
            VALUES (decode(\(tokenHash), 'hex'), \(user.id), now() + \(lifetimeSeconds) * interval '1 second')
            RETURNING expires_at
            """)
        guard let expiresAt = try inserted.first?.decode("expires_at", as: Date.self) else {
            throw PostgresError(code: .invalidQuery)
        }
        return AuthLoginResult(token: token, expiresAt: expiresAt, user: user)
    }

    /// The user and roles behind a token, in one query. ``UsersError/invalidToken`` for unknown,
    /// revoked or deleted-user tokens, ``UsersError/tokenExpired`` for expired ones.
    public func session(token: String) async throws -> SessionResult {
        guard SessionToken.isWellFormed(token) else { throw UsersError.invalidToken }
        let tokenHash = try SessionToken.hashHex(token)
        let rows = try await database.query("""
            SELECT u.id, u.username, u.email, u.first_name, u.last_name, u.city, u.region, u.created_at,
                   u.roles, s.expires_at, s.expires_at <= now() AS expired
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = decode(\(tokenHash), 'hex') AND s.revoked_at IS NULL AND u.deleted_at IS NULL
            """)
        guard let row = rows.first else { throw UsersError.invalidToken }
        guard try !row.decode("expired", as: Bool.self) else {
            throw UsersError.tokenExpired
        }
        return try Self.session(from: row)
    }

    /// A row of the session queries (the user's columns, `roles`, `expires_at`) as a session.
    static func session(from row: PostgresRow) throws -> SessionResult {
        SessionResult(user: try user(from: row), roles: try row.decode("roles", as: [String].self),
                      expiresAt: try row.decode("expires_at", as: Date.self))
    }

    /// ``session(token:)`` for several tokens in one statement, in their order: each is its
    /// session, or refused with the reason ``session(token:)`` would throw for it. The same token
    /// twice gets the same answer twice.
    public func sessions(tokens: [String]) async throws -> [SessionCheck] {
        guard (1...SessionTokensParams.maxTokens).contains(tokens.count) else {
            throw UsersError.invalidParams(APIValidationError(
                field: "tokens", message: "tokens must hold 1 to \(SessionTokensParams.maxTokens) tokens"))
        }
        var hashes: [String?] = []
        hashes.reserveCapacity(tokens.count)
        for token in tokens {
            hashes.append(SessionToken.isWellFormed(token) ? try SessionToken.hashHex(token) : nil)
        }
        let wanted = hashes.compactMap { $0 }
        var found: [String: SessionCheck] = [:]
        if !wanted.isEmpty {
            // A text[] literal bound as text: the hashes are lowercase hex, nothing to quote.
            let list = "{" + wanted.joined(separator: ",") + "}"
            let rows = try await database.query("""
                SELECT encode(s.token_hash, 'hex') AS token_hash,
                       u.id, u.username, u.email, u.first_name, u.last_name, u.city, u.region, u.created_at,
                       u.roles, s.expires_at, s.expires_at <= now() AS expired
                FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE s.token_hash = ANY(SELECT decode(h, 'hex') FROM unnest(\(list)::text[]) AS h)
                  AND s.revoked_at IS NULL AND u.deleted_at IS NULL
                """)
            for row in rows {
                let hash = try row.decode("token_hash", as: String.self)
                if try row.decode("expired", as: Bool.self) {
                    found[hash] = .refused(reason: UsersError.tokenExpired.sessionReason)
                } else {
                    found[hash] = .valid(try Self.session(from: row))
                }
            }
        }
        return hashes.map { hash in
            hash.flatMap { found[$0] } ?? .refused(reason: UsersError.invalidToken.sessionReason)
        }
    }

    /// Revokes the token. Unknown, malformed or already revoked tokens are not an error, so a
    /// retried logout succeeds.
    public func logout(token: String) async throws {
        guard SessionToken.isWellFormed(token) else { return }
        let tokenHash = try SessionToken.hashHex(token)
        _ = try await database.query("""
            UPDATE sessions SET revoked_at = now()
            WHERE token_hash = decode(\(tokenHash), 'hex') AND revoked_at IS NULL
            """)
    }

    /// Deletes sessions that expired or were revoked more than `grace` ago, `batch` rows per
    /// statement until none are left; returns how many went.
    @discardableResult
    public func deleteEndedSessions(grace: Duration = .seconds(86_400), batch: Int = 1_000) async throws -> Int {
        let graceSeconds = Double(grace.components.seconds)
        var removed = 0
        while true {
            let rows = try await database.query("""
                DELETE FROM sessions WHERE token_hash IN (
                    SELECT token_hash FROM sessions
                    WHERE expires_at < now() - \(graceSeconds) * interval '1 second'
                       OR revoked_at < now() - \(graceSeconds) * interval '1 second'
                    LIMIT \(batch))
                RETURNING 1 AS gone
                """)
            removed += rows.count
            if rows.count < batch { return removed }
        }
    }

    // MARK: Accounts

    /// The user, or `nil` when there is none or it was deleted.
    public func get(id: UUID) async throws -> User? {
        let rows = try await database.query("""
            SELECT \(unsafeSQL: Self.userColumns) FROM users WHERE id = \(id) AND deleted_at IS NULL
            """)
        return try rows.first.map(Self.user(from:))
    }

    /// Soft-deletes the user and revokes all of their sessions, atomically (one statement, so
    /// one round trip). Deleting a deleted user again succeeds (keeping the first deletion
    /// time); an unknown id is ``UsersError/userNotFound``.
    public func delete(id: UUID) async throws {
        let rows = try await database.query("""
            WITH deleted AS (
                UPDATE users SET deleted_at = COALESCE(deleted_at, now()) WHERE id = \(id) RETURNING id
            ), revoked AS (
                UPDATE sessions SET revoked_at = now()
                WHERE user_id IN (SELECT id FROM deleted) AND revoked_at IS NULL
            )
            SELECT id FROM deleted
            """)
        guard rows.first != nil else { throw UsersError.userNotFound }
    }

    /// Adds `role` to the user's roles (idempotent). ``UsersError/userNotFound`` for unknown or
    /// deleted users, ``UsersError/unknownRole`` for a role ``grantableRoles`` lacks.
    public func grantRole(username: String, role: String) async throws -> User {
        guard Self.grantableRoles.contains(role) else {
            throw UsersError.unknownRole
        }
        let rows = try await database.query("""
            UPDATE users SET roles = CASE WHEN \(role)::text = ANY (roles) THEN roles
                                          ELSE array_append(roles, \(role)::text) END
            WHERE username = \(username) AND deleted_at IS NULL
            RETURNING \(unsafeSQL: Self.userColumns)
            """)
        guard let row = rows.first else { throw UsersError.userNotFound }
        return try Self.user(from: row)
    }

    /// The roles of a live user (empty for unknown or deleted users).
    public func roles(userID: UUID) async throws -> [String] {
        let rows = try await database.query("""
            SELECT roles FROM users WHERE id = \(userID) AND deleted_at IS NULL
            """)
        return try rows.first?.decode("roles", as: [String].self) ?? []
    }

    // MARK: Helpers

    /// Runs an API params rule; its failure is ``UsersError/invalidParams`` naming the field.
    /// The gateway validated already; checking again keeps this service safe on its own.
    static func validate(_ params: some APIParams) throws {
        do {
            try params.validate()
        } catch {
            throw UsersError.invalidParams(error)
        }
    }

    static func user(from row: PostgresRow) throws -> User {
        User(id: try row.decode("id", as: UUID.self),
             username: try row.decode("username", as: String.self),
             email: try row.decode("email", as: String.self),
             firstName: try row.decode("first_name", as: String.self),
             lastName: try row.decode("last_name", as: String.self),
             city: try row.decode("city", as: String.self),
             region: try row.decode("region", as: String.self),
             createdAt: try row.decode("created_at", as: Date.self))
    }
}
