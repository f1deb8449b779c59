import Foundation
import MovRAPI
import MovRInternalAPI
import MovRPostgres
import MovRRPC
import MovRRPCTransport
import MovRService

/// The vehicles service: owns `movr_vehicles`; answers the gateway (catalogue) and the rides
/// service (reserve, release, positions during a ride).
public struct VehiclesService: MovRServiceDefinition {
    public static let identity = ServiceIdentity.vehicles
    public let store: VehiclesStore

    public init(runtime: ServiceRuntime) async throws {
        let database = try runtime.makeDatabase()
        if try runtime.configuration.bool("migrate", default: true) {
            _ = try await Migrator(client: database).apply(VehiclesSchema.migrations)
        }
        store = VehiclesStore(database: database, locality: runtime.locality)
    }

    public func makeServers(runtime: ServiceRuntime) throws -> [RPCServer] {
        let store = self.store
        let listen = runtime.configuration.string("listen", default: "127.0.0.1:\(Self.identity.defaultPort)")
        return [try runtime.makeServer(listen: listen, dispatcher: Self.dispatcher(store: store),
                                       tls: runtime.internalServerTLS, identifiesCallers: true,
                                       readiness: { await store.database.ping() })]
    }

    public func shutdown() async {
        await store.database.shutdown()
    }

    /// The internal methods and who may call them.
    public static func dispatcher(store: VehiclesStore) -> RPCDispatcher {
        var dispatcher = RPCDispatcher()
        let M = InternalMethod.Vehicles.self
        dispatcher.register(InternalMethod.ping, params: RPCEmptyParams.self) { _, _ in RPCEmpty() }
        dispatcher.register(M.list, params: InternalVehiclesListParams.self, allowedCallers: Caller.gateway) { params, _ in
            let cursor: PageCursor?
            do {
                cursor = try params.cursor.map { try PageCursor(decoding: $0) }
            } catch let error as APIValidationError {
                throw RPCError.invalidParams(field: error.field, message: error.message)
            }
            let page = try await store.listAvailable(city: params.city, limit: min(max(params.limit, 1), 100), after: cursor)
            return VehiclesListResult(vehicles: page.vehicles, nextCursor: page.next?.encoded)
        }
        dispatcher.register(M.get, params: VehiclesGetParams.self, allowedCallers: Caller.gatewayAndRides) { params, _ in
            guard let vehicle = try await store.get(id: params.id) else {
                throw RPCError.notFound(reason: "vehicle_not_found")
            }
            return VehicleResult(vehicle: vehicle)
        }
        dispatcher.register(M.add, params: InternalVehiclesAddParams.self, allowedCallers: Caller.gateway) { params, _ in
            VehicleResult(vehicle: try await store.add(params))
        }
        dispatcher.register(M.remove, params: InternalVehiclesRemoveParams.self, allowedCallers: Caller.gateway) { params, _ in
            VehicleResult(vehicle: try await store.remove(id: params.id, ownerID: params.ownerID))
        }
        dispatcher.register(M.locationHistory, params: LocationHistoryParams.self, allowedCallers: Caller.gateway) { params, _ in
            guard let records = try await store.locationHistory(id: params.id, limit: params.effectiveLimit) else {
                throw RPCError.notFound(reason: "vehicle_not_found")
            }
            return LocationHistoryResult(locations: records)
        }
        dispatcher.register(M.reserve, params: ReserveVehicleParams.self, allowedCallers: Caller.rides) { params, _ in
            VehicleResult(vehicle: try await store.reserve(vehicleID: params.vehicleID, rideID: params.rideID))
        }
        dispatcher.register(M.release, params: ReleaseVehicleParams.self, allowedCallers: Caller.rides) { params, _ in
            VehicleResult(vehicle: try await store.release(params))
        }
        dispatcher.register(M.recordLocation, params: RecordVehicleLocationParams.self, allowedCallers: Caller.rides) { params, _ in
            try await store.recordLocation(params)
            return RPCEmpty()
        }
        dispatcher.register(M.listInUse, params: VehiclesInUseParams.self, allowedCallers: ["rides", "operator"]) { params, _ in
            VehiclesInUseResult(reservations: try await store.reservations(region: params.region,
                                                                           reservedBefore: params.reservedBefore))
        }
        return dispatcher
    }
}
