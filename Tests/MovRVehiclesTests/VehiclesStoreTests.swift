import Foundation
import MovRAPI
import MovRInternalAPI
import MovRLocality
import MovRPostgres
import MovRTestSupport
import Testing
@testable import MovRVehicles

/// The store's outcomes against a real, migrated database; what callers receive for each is
/// pinned once, by ``VehiclesErrorMappingTests``.
@Suite("vehicles store")
struct VehiclesStoreTests {
    func withStore(_ body: (VehiclesStore) async throws -> Void) async throws {
        try await TestPostgres.withClient(poolSize: 2) { client in
            try await Migrator(client: client).apply(VehiclesSchema.migrations)
            try await body(VehiclesStore(database: client, locality: try Locality.loadDefault()))
        }
    }

    func addParams(key: String = UUID().uuidString, owner: UUID, city: String = "new york",
                   battery: Int? = 90) -> InternalVehiclesAddParams {
        InternalVehiclesAddParams(idempotencyKey: key, ownerID: owner, city: city, type: "bike",
                                  location: Location(latitude: 40.7, longitude: -74.0), color: "red", brand: "b",
                                  battery: battery)
    }

    @Test func addIsIdempotentPerOwnerAndKey() async throws {
        try await withStore { store in
            let owner = UUID()
            let params = addParams(key: "k-1", owner: owner)
            let vehicle = try await store.add(params)
            #expect(vehicle.id == (try IdempotentCreate.objectID(.vehicle, owner: owner, key: "k-1")))
            #expect(try await store.add(params) == vehicle)
            // Keys are per owner: another owner's "k-1" is another vehicle; another key too.
            let others = try await store.add(addParams(key: "k-1", owner: UUID()))
            #expect(others.id != vehicle.id)
            #expect(try await store.add(addParams(key: "k-2", owner: owner)).id != vehicle.id)
            await #expect(throws: VehiclesError.unknownCity) { try await store.add(addParams(owner: owner, city: "atlantis")) }
        }
    }

    @Test func aVehicleWithoutABatteryJoinsCharged() async throws {
        try await withStore { store in
            let vehicle = try await store.add(addParams(owner: UUID(), battery: nil))
            #expect(vehicle.battery == VehiclesStore.defaultBattery && VehiclesStore.defaultBattery == 100)
        }
    }

    @Test func anIDThatNamesAnotherOwnersVehicleIsRefused() async throws {
        try await withStore { store in
            let owner = UUID()
            let vehicle = try await store.add(addParams(key: "k-1", owner: owner))
            // Only a hash collision could do this; the store still never hands over another's vehicle.
            _ = try await store.database.query("UPDATE vehicles SET owner_id = \(UUID()) WHERE id = \(vehicle.id)")
            await #expect(throws: VehiclesError.idempotencyKeyReused) {
                try await store.add(addParams(key: "k-1", owner: owner))
            }
        }
    }

    @Test func onlyTheOwnerRemovesAndNeverDuringARide() async throws {
        try await withStore { store in
            let owner = UUID()
            let vehicle = try await store.add(addParams(owner: owner))
            await #expect(throws: VehiclesError.vehicleNotFound) { try await store.remove(id: UUID(), ownerID: owner) }
            await #expect(throws: VehiclesError.notVehicleOwner) { try await store.remove(id: vehicle.id, ownerID: UUID()) }
            _ = try await store.reserve(vehicleID: vehicle.id, rideID: UUID())
            await #expect(throws: VehiclesError.vehicleInUse) { try await store.remove(id: vehicle.id, ownerID: owner) }
        }
    }

    @Test func aReservationHoldsForItsRideOnly() async throws {
        try await withStore { store in
            let vehicle = try await store.add(addParams(owner: UUID()))
            let ride = UUID()
            _ = try await store.reserve(vehicleID: vehicle.id, rideID: ride)
            #expect(try await store.reserve(vehicleID: vehicle.id, rideID: ride).status == .inUse)
            await #expect(throws: VehiclesError.vehicleUnavailable) {
                try await store.reserve(vehicleID: vehicle.id, rideID: UUID())
            }
            await #expect(throws: VehiclesError.vehicleNotFound) { try await store.reserve(vehicleID: UUID(), rideID: ride) }
            let here = Location(latitude: 40.71, longitude: -74.01)
            try await store.recordLocation(RecordVehicleLocationParams(vehicleID: vehicle.id, rideID: ride, location: here))
            await #expect(throws: VehiclesError.rideNotActive) {
                try await store.recordLocation(RecordVehicleLocationParams(vehicleID: vehicle.id, rideID: UUID(), location: here))
            }
        }
    }

    @Test func locationHistoryIsForTheOwnerAndTheRider() async throws {
        try await withStore { store in
            let owner = UUID()
            let vehicle = try await store.add(addParams(owner: owner))
            #expect(try await store.locationHistory(id: UUID(), limit: 5, viewerID: owner) == .notFound)
            #expect(try await store.locationHistory(id: vehicle.id, limit: 5, viewerID: UUID()) == .forbidden)
            guard case .records(let records) = try await store.locationHistory(id: vehicle.id, limit: 5, viewerID: owner) else {
                Issue.record("the owner sees the history")
                return
            }
            #expect(records.count == 1)
        }
    }
}

/// Pins what callers receive for each domain error of the vehicles service (docs/API.md): the
/// service's edge is the only place these are mapped.
@Suite("vehicles error mapping")
struct VehiclesErrorMappingTests {
    static let pinned: [(error: VehiclesError, code: Int, reason: String)] = [
        (.unknownCity, -32602, "unknown_city"),
        (.idempotencyKeyReused, 409, "idempotency_key_reused"),
        (.vehicleNotFound, 404, "vehicle_not_found"),
        (.notVehicleOwner, 403, "not_vehicle_owner"),
        (.vehicleInUse, 409, "vehicle_in_use"),
        (.vehicleUnavailable, 409, "vehicle_unavailable"),
        (.rideNotActive, 409, "ride_not_active"),
    ]

    @Test func eachErrorHasItsCodeAndReason() {
        for (error, code, reason) in Self.pinned {
            #expect(error.rpcError.code == code, "\(error)")
            #expect(error.rpcError.data?.reason == reason, "\(error)")
            #expect(error.rpcError.data?.retryable == false, "\(error)")
        }
        #expect(VehiclesError.unknownCity.rpcError.data?.field == "city")
    }
}
