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
import ServiceLifecycle

/// The rides service: owns `movr_rides` (rides, their positions, promo codes, the outbox);
/// answers the gateway, the users service (active ride check) and the operator, and runs the
/// reconciler that repairs crashes between the rides database and the vehicles service.
///
/// Settings: ``RidesSettings``.
public struct RidesService: MovRServiceDefinition {
    public static let identity = ServiceIdentity.rides
    public static var settings: [SettingDeclaration] { RidesSettings.all }
    public let flows: RideFlows
    public let reconciler: RideReconciler
    let reconcileInterval: Duration
    let logger: Logger
    /// Promo code lists from this region's standby, when there is one (RegionalReads).
    let reads: RegionalReads
    let replicaStore: RidesStore?
    /// Whether `prepare()` applies the migrations (`--migrate`).
    let migrates: Bool

    /// Methods that write: their replies carry `X-MovR-LSN` with `--report-write-lsn`.
    static let writeMethods = [InternalMethod.Rides.start, InternalMethod.Rides.end, InternalMethod.Rides.updateLocation,
                               InternalMethod.Rides.promoCreate, InternalMethod.Rides.promoApply]

    public var store: RidesStore { flows.store }

    /// Resolves what the service uses from the runtime's settings (``RidesSettings``).
    public init(runtime: ServiceRuntime) async throws {
        let configuration = runtime.configuration
        let pricing = try configuration.value(RidesSettings.pricingConfig).map { try PricingTable.load(from: $0) }
            ?? PricingTable.loadDefault()
        try pricing.validate(against: runtime.locality)
        let reconcileSeconds = try configuration.value(RidesSettings.reconcileSeconds)
        let graceSeconds = try configuration.value(RidesSettings.reconcileGraceSeconds)
        guard reconcileSeconds >= 1, graceSeconds >= 1 else {
            throw ConfigurationError(message: "reconcile-seconds and reconcile-grace-seconds must be at least 1")
        }

        FaultPoint.useOneShotDirectory(try configuration.value(RidesSettings.faultDirectory))
        let database = try runtime.makeDatabase()
        try self.init(pricing: pricing, database: database, reads: try runtime.makeRegionalReads(primary: database),
                      vehicles: RPCVehiclesPort(client: try runtime.client(for: .vehicles)), region: runtime.region,
                      reconcileInterval: .seconds(reconcileSeconds), reconcileGrace: .seconds(graceSeconds),
                      armedFault: try configuration.value(RidesSettings.fault),
                      migrates: try configuration.value(DatabaseSettings.migrate), logger: runtime.logger)
    }

    /// The service from what it uses, given explicitly: the tariffs (validated against the city
    /// map by the caller), its database (started and migrated by ``prepare()``) and the regional
    /// reads over it, the vehicles service, its region, the reconciler's timing and a logger.
    public init(pricing: PricingTable, database: PostgresClient, reads: RegionalReads, vehicles: any VehiclesPort,
                region: String, reconcileInterval: Duration, reconcileGrace: Duration, armedFault: String? = nil,
                migrates: Bool = true, logger: Logger) throws {
        let tariffs = try RideTariffs(pricing: pricing)
        let store = RidesStore(database: database, tariffs: tariffs)
        self.reads = reads
        replicaStore = reads.replica.map { RidesStore(database: $0, tariffs: tariffs) }
        flows = RideFlows(store: store, vehicles: vehicles, region: region, armedFault: armedFault, logger: logger)
        reconciler = RideReconciler(flows: flows, grace: reconcileGrace)
        self.reconcileInterval = reconcileInterval
        self.migrates = migrates
        self.logger = logger
    }

    /// Starts the database clients' threads, then applies the migrations (unless `--migrate
    /// false`); before the listener opens.
    public func prepare() async throws {
        store.database.start()
        reads.replica?.start()
        if migrates {
            _ = try await Migrator(client: store.database).apply(RidesSchema.migrations)
        }
    }

    public func makeServers(runtime: ServiceRuntime) throws -> [RPCServer] {
        let database = store.database
        let listen = try runtime.listenAddress()
        let reads = self.reads, replicaStore = self.replicaStore
        var promoReader: (@Sendable (RPCContext) async -> RidesStore?)?
        if let replicaStore {
            promoReader = { context in await reads.useReplica(context) ? replicaStore : nil }
        }
        var dispatcher = Self.dispatcher(flows: flows, promoReader: promoReader)
        if reads.reportsWritePosition {
            dispatcher.afterSuccess(of: Self.writeMethods) { context in await reads.reportWritePosition(context) }
        }
        return [try runtime.makeServer(listen: listen, dispatcher: dispatcher.answeringDatabaseOutages(),
                                       tls: runtime.internalServerTLS, identifiesCallers: true,
                                       readiness: { await database.ping() })]
    }

    public var backgroundServices: [any Service] {
        let reconciler = self.reconciler
        let flows = self.flows
        return [
            PeriodicService(name: "rides reconciler", interval: reconcileInterval, logger: logger) {
                _ = try await reconciler.reconcileOnce()
            },
            // Deletes delivered outbox entries in batches, off the request path, and once more
            // at shutdown (the database client stops after it).
            PeriodicService(name: "outbox acknowledgements", interval: .milliseconds(200), finalPass: true,
                            logger: logger) {
                await flows.acknowledgeDelivered()
            },
        ] + (reads.replica == nil ? [] : [reads.monitor()])
    }

    /// The database clients (primary, standby), stopped by the group after the listeners and
    /// the background services' final passes.
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

    /// The internal methods, with the allow lists of ``InternalMethod/table``. `promoReader`
    /// returns the standby's store when `promo_codes.list` may be answered there (nil: the
    /// primary's).
    public static func dispatcher(flows: RideFlows,
                                  promoReader: (@Sendable (RPCContext) async -> RidesStore?)? = nil) -> RPCDispatcher {
        let store = flows.store
        var dispatcher = RPCDispatcher()
        let M = InternalMethod.Rides.self
        dispatcher.register(InternalMethod.ping, of: .rides, params: RPCEmptyParams.self) { _, _ in RPCEmpty() }
        dispatcher.register(M.start, of: .rides, params: InternalRidesStartParams.self) { params, context in
            RideResult(ride: try await flows.start(try RideStart(params), context: context))
        }
        dispatcher.register(M.end, of: .rides, params: InternalRidesEndParams.self) { params, context in
            RideResult(ride: try await flows.end(params, context: context))
        }
        dispatcher.register(M.updateLocation, of: .rides, params: InternalRidesUpdateLocationParams.self) { params, context in
            try await flows.updateLocation(params, context: context)
            return RPCEmpty()
        }
        dispatcher.register(M.list, of: .rides, params: InternalRidesListParams.self) { params, _ in
            let cursor = try params.cursor.map(Self.pageCursor)
            let page = try await store.rides(riderID: params.riderID, activeOnly: params.activeOnly,
                                             limit: min(max(params.limit, 1), 100), after: cursor)
            return RidesListResult(rides: page.rides, nextCursor: page.next?.encoded)
        }
        dispatcher.register(M.get, of: .rides, params: InternalRidesGetParams.self) { params, _ in
            guard let ride = try await store.ride(id: params.id, riderID: params.riderID) else {
                throw RidesError.rideNotFound
            }
            return RideResult(ride: ride)
        }
        dispatcher.register(M.activeForRider, of: .rides, params: RiderParams.self) { params, _ in
            ActiveRideResult(active: try await store.hasActiveRide(riderID: params.riderID))
        }
        dispatcher.register(M.listActive, of: .rides, params: RPCEmptyParams.self) { _, _ in
            ActiveRidesResult(rides: try await store.activeRides())
        }
        dispatcher.register(M.promoList, of: .rides, params: RPCEmptyParams.self) { _, context in
            let source = await promoReader?(context) ?? store
            return PromoCodesListResult(promoCodes: try await source.unexpiredPromoCodes())
        }
        dispatcher.register(M.promoCreate, of: .rides, params: InternalPromoCreateParams.self) { params, _ in
            guard let promoCode = try await store.createPromoCode(params) else {
                throw RidesError.promoCodeExists
            }
            return PromoCodeResult(promoCode: promoCode)
        }
        dispatcher.register(M.promoApply, of: .rides, params: InternalPromoApplyParams.self) { params, _ in
            guard let applied = try await store.applyPromoCode(userID: params.userID, code: params.code) else {
                throw RidesError.promoCodeNotFound
            }
            return UserPromoCodeResult(userPromoCode: applied)
        }
        return dispatcher
    }

    private static func pageCursor(_ text: String) throws -> PageCursor {
        do {
            return try PageCursor(decoding: text)
        } catch {
            throw RPCError.invalidParams(field: "cursor", message: "invalid cursor")
        }
    }
}

/// The rides service's edge: each ``RidesError`` as callers receive it (docs/API.md), mapped
/// here only.
extension RidesError: RPCErrorConvertible {
    public var rpcError: RPCError {
        switch self {
        case .idempotencyKeyReused: .conflict(reason: "idempotency_key_reused")
        case .activeRideExists: .conflict(reason: "active_ride_exists")
        case .vehicleUnavailable: .conflict(reason: "vehicle_unavailable")
        case .rideNotFound: .notFound(reason: "ride_not_found")
        case .rideAlreadyEnded: .conflict(reason: "ride_already_ended")
        case .promoCodeExists: .conflict(reason: "promo_code_exists")
        case .promoCodeNotFound: .notFound(reason: "promo_code_not_found")
        }
    }
}
