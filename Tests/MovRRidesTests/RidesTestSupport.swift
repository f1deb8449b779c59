import Foundation
import Logging
import MovRAPI
import MovRInternalAPI
import MovRPostgres
import MovRRPC
import MovRRides
import MovRTestSupport

/// Fixed prices for tests (independent of config/pricing.json).
let testPricing: PricingTable = {
    do {
        return try PricingTable(regions: [
            "us-east1": ("USD", ["scooter": Tariff(unlockFee: 100, perMinute: 25),
                                 "bike": Tariff(unlockFee: 100, perMinute: 15),
                                 "skateboard": Tariff(unlockFee: 50, perMinute: 20)]),
            "europe-west1": ("EUR", ["scooter": Tariff(unlockFee: 100, perMinute: 22),
                                     "bike": Tariff(unlockFee: 80, perMinute: 13)]),
        ])
    } catch {
        fatalError("test pricing is invalid: \(error)")
    }
}()

let testLogger: Logger = {
    var logger = Logger(label: "movr.test.rides")
    logger.logLevel = .warning
    return logger
}()

/// Runs `body` with a store over a fresh, migrated database.
func withRidesStore<R>(_ body: (RidesStore) async throws -> R) async throws -> R {
    try await TestPostgres.withClient(poolSize: 8) { client in
        try await Migrator(client: client).apply(RidesSchema.migrations)
        return try await body(RidesStore(database: client, tariffs: try RideTariffs(pricing: testPricing)))
    }
}

func newRide(id: UUID = UUID(), rider: UUID = UUID(), vehicle: UUID = UUID(), type: String = "scooter",
             city: String = "new york", region: String = "us-east1") -> NewRide {
    NewRide(id: id, riderID: rider, vehicleID: vehicle, vehicleType: type, city: city, region: region,
            startLocation: Location(latitude: 40.7, longitude: -74.0),
            currency: region == "europe-west1" ? "EUR" : "USD")
}

struct UnexpectedOutcome: Error, CustomStringConvertible {
    var description: String
}

extension RidesStore {
    /// Records a ride and returns it; fails the test on any other outcome.
    func startForTest(_ ride: NewRide) async throws -> Ride {
        guard case .inserted(let recorded) = try await insertStartedRide(ride) else {
            throw UnexpectedOutcome(description: "ride \(ride.id) was not inserted")
        }
        return recorded
    }

    /// Moves a ride's start into the past by `seconds` (test setup only).
    func backdate(rideID: UUID, seconds: Double) async throws {
        _ = try await database.query("""
            UPDATE rides SET start_time = now() - \(seconds) * interval '1 second' WHERE id = \(rideID)
            """)
    }

    func setStartTime(rideID: UUID, to time: Date) async throws {
        _ = try await database.query("UPDATE rides SET start_time = \(time) WHERE id = \(rideID)")
    }

    func endForTest(_ ride: Ride, at location: Location = Location(latitude: 40.71, longitude: -74.01),
                    battery: Int? = 80) async throws -> EndedRide {
        guard case .ended(let ended) = try await endRide(id: ride.id, riderID: ride.riderID, location: location,
                                                          battery: battery) else {
            throw UnexpectedOutcome(description: "ride \(ride.id) did not end")
        }
        return ended
    }

    func makePromo(_ code: String, percentOff: Int, expiresIn seconds: TimeInterval = 3600) async throws {
        let params = InternalPromoCreateParams(code: code, description: "test", percentOff: percentOff,
                                               expiresAt: Date().addingTimeInterval(seconds), createdBy: UUID())
        guard try await createPromoCode(params) != nil else {
            throw UnexpectedOutcome(description: "promo \(code) exists")
        }
    }

    func count(_ sql: String) async throws -> Int {
        try await database.query(PostgresQuery(unsafeSQL: sql)).first?.decode(at: 0, as: Int.self) ?? -1
    }
}

/// The vehicles service's part, as a test double for flow tests (never for integration tests):
/// idempotent reserve/release per ride id like the real one, with switchable failures.
actor FakeVehicles: VehiclesPort {
    struct Held {
        var rideID: UUID
        var reservedAt: Date
    }

    var vehicles: [UUID: Vehicle] = [:]
    var held: [UUID: Held] = [:]
    var releases: [ReleaseVehicleParams] = []
    var reserveCalls = 0
    var failReleases = false
    var reservationRegion = "us-east1"
    /// Runs after a successful reserve, before returning (to inject races).
    var afterReserve: (@Sendable () async throws -> Void)?

    func addVehicle(type: VehicleType = .scooter, city: String = "new york", region: String = "us-east1") -> UUID {
        let id = UUID()
        vehicles[id] = Vehicle(id: id, type: type, city: city, region: region, ownerID: UUID(), status: .available,
                               battery: 90, location: Location(latitude: 40.7, longitude: -74.0),
                               color: "red", brand: "test", createdAt: Date())
        return id
    }

    func setFailReleases(_ fail: Bool) { failReleases = fail }
    /// The vehicle is deleted from the vehicles service (releases find it gone).
    func forget(_ vehicleID: UUID) { vehicles[vehicleID] = nil }
    func setAfterReserve(_ hook: (@Sendable () async throws -> Void)?) { afterReserve = hook }
    func hold(vehicleID: UUID, rideID: UUID, reservedAt: Date) {
        held[vehicleID] = Held(rideID: rideID, reservedAt: reservedAt)
        vehicles[vehicleID]?.status = .inUse
    }

    func reserve(vehicleID: UUID, rideID: UUID, riderID: UUID, context: RPCContext?) async throws -> Vehicle {
        reserveCalls += 1
        guard let vehicle = vehicles[vehicleID] else { throw RPCError.notFound(reason: "vehicle_not_found") }
        if let current = held[vehicleID] {
            guard current.rideID == rideID else { throw RPCError.conflict(reason: "vehicle_unavailable") }
            return vehicle
        }
        hold(vehicleID: vehicleID, rideID: rideID, reservedAt: Date())
        if let afterReserve { try await afterReserve() }
        return vehicles[vehicleID]!
    }

    func release(_ params: ReleaseVehicleParams, context: RPCContext?) async throws -> VehicleReleaseOutcome {
        if failReleases { throw RPCError.unavailable(reason: "upstream_unavailable") }
        releases.append(params)
        guard vehicles[params.vehicleID] != nil else { return .vehicleGone }
        guard held[params.vehicleID]?.rideID == params.rideID else { return .released }
        held[params.vehicleID] = nil
        vehicles[params.vehicleID]?.status = .available
        if let location = params.location { vehicles[params.vehicleID]?.location = location }
        if let battery = params.battery { vehicles[params.vehicleID]?.battery = battery }
        return .released
    }

    func recordLocation(_ params: RecordVehicleLocationParams, context: RPCContext?) async throws {
        guard held[params.vehicleID]?.rideID == params.rideID else { throw RPCError.conflict(reason: "ride_not_active") }
        vehicles[params.vehicleID]?.location = params.location
    }

    func reservations(region: String, reservedBefore: Date) async throws -> [VehicleReservation] {
        held.map { VehicleReservation(vehicleID: $0.key, rideID: $0.value.rideID, region: reservationRegion,
                                      reservedAt: $0.value.reservedAt) }
            .filter { $0.region == region && $0.reservedAt < reservedBefore }
    }
}
