import Foundation
import MovRAPI
import MovRInternalAPI
import MovRPostgres
import MovRRPC
import MovRRPCTransport
import MovRService
import NIOPosix

/// The users service: owns `movr_users` (accounts and sessions); answers the gateway (register,
/// login, sessions, delete) and the operator (lookups, role grants).
public struct UsersService: MovRServiceDefinition {
    public static let identity = ServiceIdentity.users
    public let store: UsersStore
    /// Runs scrypt off Swift's cooperative pool; owned here, shut down in `shutdown()`.
    private let hashingPool: NIOThreadPool

    /// Whether `riderID` has a ride in progress (asked of the rides service before a delete).
    public typealias ActiveRideCheck = @Sendable (_ riderID: UUID, _ context: RPCContext) async throws -> Bool

    public init(runtime: ServiceRuntime) async throws {
        let configuration = runtime.configuration
        let sessionHours = try configuration.int("session-hours", default: 24)
        let hashThreads = try configuration.int("hash-threads", default: 2)
        guard (1...24 * 365).contains(sessionHours), (1...64).contains(hashThreads) else {
            throw ConfigurationError(message: "session-hours must be 1...8760 and hash-threads 1...64")
        }
        let database = try runtime.makeDatabase()
        do {
            if try configuration.bool("migrate", default: true) {
                _ = try await Migrator(client: database).apply(UsersSchema.migrations)
            }
        } catch {
            await database.shutdown()
            throw error
        }
        hashingPool = NIOThreadPool(numberOfThreads: hashThreads)
        hashingPool.start()
        store = UsersStore(database: database, locality: runtime.locality,
                           passwordHasher: PasswordHasher(threadPool: hashingPool),
                           sessionLifetime: .seconds(sessionHours * 3600))
    }

    public func makeServers(runtime: ServiceRuntime) throws -> [RPCServer] {
        let store = self.store
        let listen = runtime.configuration.string("listen", default: "127.0.0.1:\(Self.identity.defaultPort)")
        let dispatcher = Self.makeDispatcher(store: store) { riderID, context in
            let rides = try runtime.client(for: .rides)
            let result = try await rides.call(InternalMethod.Rides.activeForRider, params: RiderParams(riderID: riderID),
                                              as: ActiveRideResult.self,
                                              options: RPCCallOptions(from: context, idempotent: true))
            return result.active
        }
        return [try runtime.makeServer(listen: listen, dispatcher: dispatcher, tls: runtime.internalServerTLS,
                                       identifiesCallers: true, readiness: { await store.database.ping() })]
    }

    public func shutdown() async {
        await store.database.shutdown()
        try? await hashingPool.shutdownGracefully()
    }

    /// The internal methods and who may call them (see `InternalMethod.Users`).
    ///
    /// - Parameter hasActiveRide: asked before `users.delete`; integration tests pass a stub.
    public static func makeDispatcher(store: UsersStore, hasActiveRide: @escaping ActiveRideCheck) -> RPCDispatcher {
        var dispatcher = RPCDispatcher()
        let M = InternalMethod.Users.self
        dispatcher.register(InternalMethod.ping, params: RPCEmptyParams.self) { _, _ in RPCEmpty() }
        dispatcher.register(M.register, params: UsersRegisterParams.self, allowedCallers: Caller.gateway) { params, _ in
            UserResult(user: try await store.register(params))
        }
        dispatcher.register(M.login, params: InternalLoginParams.self, allowedCallers: Caller.gateway) { params, _ in
            try await store.login(username: params.username, password: params.password)
        }
        dispatcher.register(M.logout, params: SessionTokenParams.self, allowedCallers: Caller.gateway) { params, _ in
            try await store.logout(token: params.token)
            return RPCEmpty()
        }
        dispatcher.register(M.session, params: SessionTokenParams.self, allowedCallers: Caller.gateway) { params, _ in
            try await store.session(token: params.token)
        }
        dispatcher.register(M.get, params: UserIDParams.self,
                            allowedCallers: Caller.gateway.union(Caller.operator)) { params, _ in
            guard let user = try await store.get(id: params.id) else {
                throw RPCError.notFound(reason: "user_not_found")
            }
            return UserResult(user: user)
        }
        dispatcher.register(M.delete, params: UserIDParams.self, allowedCallers: Caller.gateway) { params, context in
            // Check, then delete: not atomic. A ride started in the gap (its request already past
            // the gateway's session check) outlives the account; the gap is one round trip. The
            // rides service cannot close it, as it never sees this database; deleting revokes the
            // sessions, so no ride can start after the delete commits. The check asks this
            // region's rides service only.
            if try await hasActiveRide(params.id, context) {
                throw RPCError.conflict(reason: "active_ride_exists")
            }
            try await store.delete(id: params.id)
            return RPCEmpty()
        }
        dispatcher.register(M.grantRole, params: GrantRoleParams.self, allowedCallers: Caller.operator) { params, _ in
            UserResult(user: try await store.grantRole(username: params.username, role: params.role))
        }
        return dispatcher
    }
}
