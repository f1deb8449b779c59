import FoundationEssentials
import Logging
import MovRAPI
import MovRInternalAPI
import MovRLocality
import MovRPostgres
import MovRRPC
import MovRRPCTransport
import MovRService
import MovRServiceDatabase
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The users service: owns `movr_users` (accounts and sessions); answers the gateway (register,
/// login, sessions, delete) and the operator (lookups, role grants).
public struct UsersService: MovRServiceDefinition {
    public static let identity = ServiceIdentity.users
    public static var settings: [SettingDeclaration] { UsersSettings.all }
    public let store: UsersStore
    /// Runs scrypt off Swift's cooperative pool; owned here, started in `prepare()`, shut down
    /// in `shutdown()`.
    private let hashingPool: NIOThreadPool
    /// Whether `prepare()` applies the migrations (`--migrate`).
    private let migrates: Bool
    private let sessionSweepInterval: Duration
    private let logger: Logger

    /// Whether `riderID` has a ride in progress (asked of the rides service before a delete).
    public typealias ActiveRideCheck = @Sendable (_ riderID: UUID, _ context: RPCContext) async throws -> Bool

    public init(runtime: ServiceRuntime) async throws {
        let configuration = runtime.configuration
        let sessionHours = try configuration.value(UsersSettings.sessionHours)
        let sweepSeconds = try configuration.value(UsersSettings.sessionSweepSeconds)
        guard (1...86_400).contains(sweepSeconds) else {
            throw ConfigurationError(message: "session-sweep-seconds must be 1...86400")
        }
        let hashThreads = try configuration.value(UsersSettings.hashThreads)
        let hashQueue = try configuration.value(UsersSettings.hashQueue)
        let hashMaxWaitMs = try configuration.value(UsersSettings.hashMaxWaitMs)
        let scryptLog2N = try configuration.value(UsersSettings.scryptLog2N)
        var throttlePolicy = AuthThrottle.Policy()
        throttlePolicy.registrationsPerClientPerMinute = try configuration.value(UsersSettings.registerPerClientPerMinute)
        throttlePolicy.registrationsPerSecond = try configuration.value(UsersSettings.registerPerSecond)
        throttlePolicy.pairFreeFailures = try configuration.value(UsersSettings.loginFreeFailures)
        throttlePolicy.clientFreeFailures = try configuration.value(UsersSettings.loginClientFreeFailures)
        guard (1...24 * 365).contains(sessionHours), (1...64).contains(hashThreads), (1...10_000).contains(hashQueue),
              (1...60_000).contains(hashMaxWaitMs), (14...20).contains(scryptLog2N),
              throttlePolicy.registrationsPerClientPerMinute >= 1, throttlePolicy.registrationsPerSecond >= 1,
              throttlePolicy.pairFreeFailures >= 1, throttlePolicy.clientFreeFailures >= 1 else {
            throw ConfigurationError(message: "session-hours must be 1...8760, hash-threads 1...64, hash-queue 1...10000, hash-max-wait-ms 1...60000, scrypt-log2n 14...20, "
                                     + "register-per-client-per-minute, register-per-second, login-free-failures and login-client-free-failures at least 1")
        }
        let migrates = try configuration.value(DatabaseSettings.migrate)
        let database = try runtime.makeDatabase()
        self.init(database: database, locality: runtime.locality, hashThreads: hashThreads,
                  scrypt: ScryptParameters(log2N: scryptLog2N, r: 8, p: 1), hashQueue: hashQueue,
                  hashMaxWait: .milliseconds(hashMaxWaitMs), throttle: throttlePolicy,
                  sessionLifetime: .seconds(sessionHours * 3600), sessionSweepInterval: .seconds(sweepSeconds),
                  migrates: migrates, logger: runtime.logger)
    }

    /// The service from what it uses, given explicitly: its database (started and migrated by
    /// ``prepare()``), the city map, the password hashing (threads of its own, started by
    /// ``prepare()``; cost; queue bound and wait), the sign-in throttle, session lifetime and
    /// sweep interval, and a logger. The runtime-based init checks the ranges of the settings.
    public init(database: PostgresClient, locality: Locality, hashThreads: Int, scrypt: ScryptParameters,
                hashQueue: Int, hashMaxWait: Duration, throttle: AuthThrottle.Policy, sessionLifetime: Duration,
                sessionSweepInterval: Duration, migrates: Bool = true, logger: Logger) {
        hashingPool = NIOThreadPool(numberOfThreads: hashThreads)
        store = UsersStore(database: database, locality: locality,
                           passwordHasher: PasswordHasher(threadPool: hashingPool, threads: hashThreads, parameters: scrypt,
                                                          maxPending: hashQueue, maxWait: hashMaxWait),
                           throttle: AuthThrottle(policy: throttle), sessionLifetime: sessionLifetime)
        self.sessionSweepInterval = sessionSweepInterval
        self.migrates = migrates
        self.logger = logger
    }

    /// Starts the database client's and the hashing threads, then applies the migrations
    /// (unless `--migrate false`); before the listener opens.
    public func prepare() async throws {
        store.database.start()
        hashingPool.start()
        if migrates {
            _ = try await Migrator(client: store.database).apply(UsersSchema.migrations)
        }
    }

    public func makeServers(runtime: ServiceRuntime) throws -> [RPCServer] {
        let store = self.store
        let listen = try runtime.listenAddress()
        let dispatcher = Self.makeDispatcher(store: store) { riderID, context in
            let rides = try runtime.client(for: .rides)
            let result = try await rides.call(InternalMethod.Rides.activeForRider, params: RiderParams(riderID: riderID),
                                              as: ActiveRideResult.self,
                                              options: RPCCallOptions(from: context, idempotent: true))
            return result.active
        }
        return [try runtime.makeServer(listen: listen, dispatcher: dispatcher.answeringDatabaseOutages(), tls: runtime.internalServerTLS,
                                       identifiesCallers: true, readiness: { await store.database.ping() })]
    }

    public var backgroundServices: [any Service] {
        let store = self.store
        let logger = self.logger
        return [
            // Sessions are created by anyone who can sign in: expired and revoked ones leave the
            // table instead of accumulating (a day after they end, so their owners still get
            // `token_expired` rather than `invalid_token` for a while).
            PeriodicService(name: "session sweep", interval: sessionSweepInterval, logger: logger) {
                let removed = try await store.deleteEndedSessions()
                if removed > 0 { logger.info("removed ended sessions", metadata: ["count": "\(removed)"]) }
            },
        ]
    }

    /// The database client and the hashing threads, stopped by the group after the listeners.
    public var resources: [any Service] {
        [store.database, WorkerThreadsService(pool: hashingPool)]
    }

    /// At start (``WarmUpService``): connections open before the first calls need them.
    public func warmDatabase(connections: Int) async {
        await store.database.warm(connections: connections)
    }

    public func shutdown() async {
        await store.database.shutdown()
        try? await hashingPool.shutdownGracefully()
    }

    /// The internal methods, with the allow lists of ``InternalMethod/table``.
    ///
    /// - Parameter hasActiveRide: asked before `users.delete`; integration tests pass a stub.
    public static func makeDispatcher(store: UsersStore, hasActiveRide: @escaping ActiveRideCheck) -> RPCDispatcher {
        var dispatcher = RPCDispatcher()
        let M = InternalMethod.Users.self
        dispatcher.register(InternalMethod.ping, of: .users, params: RPCEmptyParams.self) { _, _ in RPCEmpty() }
        dispatcher.register(M.register, of: .users, params: InternalRegisterParams.self) { params, _ in
            UserResult(user: try await store.register(params.registration, clientAddress: params.clientAddress))
        }
        dispatcher.register(M.login, of: .users, params: InternalLoginParams.self) { params, _ in
            try await store.login(username: params.username, password: params.password, clientAddress: params.clientAddress)
        }
        dispatcher.register(M.logout, of: .users, params: SessionTokenParams.self) { params, _ in
            try await store.logout(token: params.token)
            return RPCEmpty()
        }
        dispatcher.register(M.session, of: .users, params: SessionTokenParams.self) { params, _ in
            try await store.session(token: params.token)
        }
        dispatcher.register(M.sessions, of: .users, params: SessionTokensParams.self) { params, _ in
            SessionsResult(sessions: try await store.sessions(tokens: params.tokens))
        }
        dispatcher.register(M.get, of: .users, params: UserIDParams.self) { params, _ in
            guard let user = try await store.get(id: params.id) else {
                throw UsersError.userNotFound
            }
            return UserResult(user: user)
        }
        dispatcher.register(M.delete, of: .users, params: UserIDParams.self) { params, context in
            // Check, then delete: not atomic. A ride started in the gap (its request already past
            // the gateway's session check) outlives the account; the gap is one round trip. The
            // rides service cannot close it, as it never sees this database; deleting revokes the
            // sessions, so no ride can start after the delete commits. The check asks this
            // region's rides service only.
            if try await hasActiveRide(params.id, context) {
                throw UsersError.activeRideExists
            }
            try await store.delete(id: params.id)
            return RPCEmpty()
        }
        dispatcher.register(M.grantRole, of: .users, params: GrantRoleParams.self) { params, _ in
            UserResult(user: try await store.grantRole(username: params.username, role: params.role))
        }
        return dispatcher
    }
}

/// The users service's edge: each ``UsersError`` as callers receive it (docs/API.md), mapped
/// here only.
extension UsersError: RPCErrorConvertible {
    public var rpcError: RPCError {
        switch self {
        case .invalidParams(let rule): .invalidParams(field: rule.field, message: rule.message)
        case .unknownCity: .unknownCity()
        case .usernameTaken: .conflict(reason: "username_taken")
        case .tooManyAttempts: .rateLimited(reason: "too_many_attempts")
        case .hashingOverloaded: .unavailable(reason: "overloaded")
        case .invalidCredentials:
            RPCError(code: RPCError.Code.unauthenticated, message: "Invalid username or password", reason: "invalid_credentials")
        case .invalidToken: .unauthenticated(reason: "invalid_token")
        case .tokenExpired: .unauthenticated(reason: "token_expired")
        case .userNotFound: .notFound(reason: "user_not_found")
        case .unknownRole: .invalidParams(field: "role", message: "unknown role")
        case .activeRideExists: .conflict(reason: "active_ride_exists")
        }
    }
}

extension UsersError {
    /// The reason `auth.session` refuses a token with; `auth.sessions` answers it per token.
    var sessionReason: String { rpcError.data?.reason ?? "invalid_token" }
}
