import FoundationEssentials
import MovRAPI
import MovRInternalAPI
import MovRLocality
import MovRPostgres
import MovRRPC
import MovRRPCTransport
import MovRService
import MovRServiceDatabase
import ServiceLifecycle

/// The vehicles service: owns `movr_vehicles`; answers the gateway (catalogue) and the rides
/// service (reserve, release, positions during a ride).
public struct VehiclesService: MovRServiceDefinition {
    public static let identity = ServiceIdentity.vehicles
    public static var settings: [SettingDeclaration] { VehiclesSettings.all }
    public let store: VehiclesStore
    /// The standby of this region, when there is one (`--replica-database-url`).
    let reads: RegionalReads
    let replicaStore: VehiclesStore?
    /// Whether `prepare()` applies the migrations (`--migrate`).
    let migrates: Bool

    /// Methods that write: their replies carry `X-MovR-LSN` with `--report-write-lsn`.
    static let writeMethods = [InternalMethod.Vehicles.add, InternalMethod.Vehicles.remove, InternalMethod.Vehicles.reserve,
                               InternalMethod.Vehicles.release, InternalMethod.Vehicles.recordLocation]

    /// Resolves what the service uses from the runtime's settings (``VehiclesSettings``).
    public init(runtime: ServiceRuntime) async throws {
        let database = try runtime.makeDatabase()
        try self.init(database: database, reads: try runtime.makeRegionalReads(primary: database),
                      locality: runtime.locality,
                      followerReads: try runtime.configuration.value(VehiclesSettings.followerReads),
                      migrates: try runtime.configuration.value(DatabaseSettings.migrate))
    }

    /// The service from what it uses, given explicitly: its database (started and migrated by
    /// ``prepare()``), the regional reads over it, and the city map.
    public init(database: PostgresClient, reads: RegionalReads, locality: Locality, followerReads: Bool = false,
                migrates: Bool = true) throws {
        guard !followerReads || database.configuration.dialect == .cockroach else {
            throw ConfigurationError(message: "follower-reads needs --dialect cockroach (PostgreSQL has no AS OF SYSTEM TIME)")
        }
        store = VehiclesStore(database: database, locality: locality, followerReads: followerReads)
        self.reads = reads
        replicaStore = reads.replica.map { VehiclesStore(database: $0, locality: locality) }
        self.migrates = migrates
    }

    /// Starts the database clients' threads, then applies the migrations (unless `--migrate
    /// false`); before the listener opens.
    public func prepare() async throws {
        store.database.start()
        reads.replica?.start()
        if migrates {
            _ = try await Migrator(client: store.database).apply(VehiclesSchema.migrations)
        }
    }

    public var backgroundServices: [any Service] {
        reads.replica == nil ? [] : [reads.monitor()]
    }

    public func makeServers(runtime: ServiceRuntime) throws -> [RPCServer] {
        let store = self.store
        let listen = try runtime.listenAddress()
        var dispatcher = Self.dispatcher(store: store, reader: Self.reader(store: store, replica: replicaStore, reads: reads))
        let reads = self.reads
        if reads.reportsWritePosition {
            dispatcher.afterSuccess(of: Self.writeMethods) { context in await reads.reportWritePosition(context) }
        }
        return [try runtime.makeServer(listen: listen, dispatcher: dispatcher.answeringDatabaseOutages(),
                                       tls: runtime.internalServerTLS, identifiesCallers: true,
                                       readiness: { await store.database.ping() })]
    }

    /// The database clients (primary, standby), stopped by the group after the listeners.
    public var resources: [any Service] {
        [store.database] + (reads.replica.map { [$0] } ?? [])
    }

    /// At start (``WarmUpService``): connections open before the first calls need them.
    public func warmDatabase(connections: Int) async {
        await store.database.warm(connections: connections)
    }

    public func shutdown() async {
        await reads.shutdown()
        await store.database.shutdown()
    }

    /// The store a read-only call uses: the standby's when it may answer (RegionalReads).
    static func reader(store: VehiclesStore, replica: VehiclesStore?, reads: RegionalReads)
        -> @Sendable (RPCContext) async -> VehiclesStore {
        guard let replica else { return { _ in store } }
        return { context in await reads.useReplica(context) ? replica : store }
    }

    /// The internal methods, with the allow lists of ``InternalMethod/table``; `reader` picks
    /// the store of read-only methods (default: the primary's).
    public static func dispatcher(store: VehiclesStore,
                                  reader: (@Sendable (RPCContext) async -> VehiclesStore)? = nil) -> RPCDispatcher {
        let reader = reader ?? { _ in store }
        var dispatcher = RPCDispatcher()
        let M = InternalMethod.Vehicles.self
        dispatcher.register(InternalMethod.ping, of: .vehicles, params: RPCEmptyParams.self) { _, _ in RPCEmpty() }
        dispatcher.register(M.list, of: .vehicles, params: InternalVehiclesListParams.self) { params, context in
            let cursor = try Self.pageCursor(params.cursor)
            return try await reader(context).availablePage(city: params.city, limit: min(max(params.limit, 1), 100), after: cursor)
        }
        dispatcher.register(M.get, of: .vehicles, params: VehiclesGetParams.self) { params, context in
            // The rides service reads what it is about to change: always the primary.
            let source = context.callerIdentity == .rides ? store : await reader(context)
            guard let vehicle = try await source.get(id: params.id) else {
                throw VehiclesError.vehicleNotFound
            }
            return VehicleResult(vehicle: vehicle)
        }
        dispatcher.register(M.add, of: .vehicles, params: InternalVehiclesAddParams.self) { params, _ in
            VehicleResult(vehicle: try await store.add(params))
        }
        dispatcher.register(M.remove, of: .vehicles, params: InternalVehiclesRemoveParams.self) { params, _ in
            VehicleResult(vehicle: try await store.remove(id: params.id, ownerID: params.ownerID))
        }
        dispatcher.register(M.owned, of: .vehicles, params: InternalVehiclesOwnedParams.self) { params, _ in
            let cursor = try Self.pageCursor(params.cursor)
            return try await store.ownedPage(ownerID: params.ownerID, limit: min(max(params.limit, 1), 100), after: cursor)
        }
        dispatcher.register(M.locationHistory, of: .vehicles, params: InternalLocationHistoryParams.self) { params, _ in
            switch try await store.locationHistory(id: params.id, limit: params.limit, viewerID: params.viewerID) {
            case .records(let records): return LocationHistoryResult(locations: records)
            case .notFound: throw VehiclesError.vehicleNotFound
            case .forbidden: throw VehiclesError.notVehicleOwner
            }
        }
        dispatcher.register(M.reserve, of: .vehicles, params: ReserveVehicleParams.self) { params, _ in
            VehicleResult(vehicle: try await store.reserve(vehicleID: params.vehicleID, rideID: params.rideID,
                                                           riderID: params.riderID))
        }
        dispatcher.register(M.release, of: .vehicles, params: ReleaseVehicleParams.self) { params, _ in
            VehicleResult(vehicle: try await store.release(params))
        }
        dispatcher.register(M.recordLocation, of: .vehicles, params: RecordVehicleLocationParams.self) { params, _ in
            try await store.recordLocation(params)
            return RPCEmpty()
        }
        dispatcher.register(M.listInUse, of: .vehicles, params: VehiclesInUseParams.self) { params, _ in
            VehiclesInUseResult(reservations: try await store.reservations(region: params.region,
                                                                           reservedBefore: params.reservedBefore))
        }
        return dispatcher
    }

    /// A page cursor from the wire; a malformed one is `-32602` naming the field.
    static func pageCursor(_ text: String?) throws -> PageCursor? {
        do {
            return try text.map { try PageCursor(decoding: $0) }
        } catch let error as APIValidationError {
            throw RPCError.invalidParams(field: error.field, message: error.message)
        }
    }
}

/// The vehicles service's edge: each ``VehiclesError`` as callers receive it (docs/API.md),
/// mapped here only.
extension VehiclesError: RPCErrorConvertible {
    public var rpcError: RPCError {
        switch self {
        case .unknownCity: .unknownCity()
        case .idempotencyKeyReused: .conflict(reason: "idempotency_key_reused")
        case .vehicleNotFound: .notFound(reason: "vehicle_not_found")
        case .notVehicleOwner: .forbidden(reason: "not_vehicle_owner")
        case .vehicleInUse: .conflict(reason: "vehicle_in_use")
        case .vehicleUnavailable: .conflict(reason: "vehicle_unavailable")
        case .rideNotActive: .conflict(reason: "ride_not_active")
        }
    }
}
