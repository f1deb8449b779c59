import Foundation
import MovRAPI
import MovRRPC
import Testing

/// rides.start, update_location, end, get, list through the gateway, across the rides and
/// vehicles services.
@Suite struct RidesTests {
    @Test func aWholeRide() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser(city: "rome")
        let rider = try await domain.newUser(city: "rome")
        let vehicle = try await domain.call(
            "vehicles.add",
            VehiclesAddParams(type: .scooter, city: "rome", location: Location(latitude: 41.9, longitude: 12.5),
                              color: "white", brand: "Vespa", battery: 80),
            as: VehicleResult.self, as: owner).vehicle

        let ride = try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id), as: RideResult.self,
                                         as: rider, city: "rome").ride
        #expect(ride.isActive && ride.city == "rome" && ride.region == "europe-west1" && ride.currency == "EUR")
        #expect(ride.riderID == rider.user.id && ride.vehicleID == vehicle.id)
        let held = try await domain.call("vehicles.get", VehiclesGetParams(id: vehicle.id), as: VehicleResult.self).vehicle
        #expect(held.status == .inUse)

        // The vehicle is taken, and the rider already rides.
        let other = try await domain.newUser(city: "rome")
        await expectRPCError(409, reason: "vehicle_unavailable") {
            try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id), as: RideResult.self, as: other)
        }
        let second = try await domain.newVehicle(owner: owner, city: "rome")
        await expectRPCError(409, reason: "active_ride_exists") {
            try await domain.call("rides.start", RidesStartParams(vehicleID: second.id), as: RideResult.self, as: rider)
        }

        let waypoint = Location(latitude: 41.91, longitude: 12.49)
        _ = try await domain.call("rides.update_location", RidesUpdateLocationParams(rideID: ride.id, location: waypoint),
                                  as: EmptyObject.self, as: rider)
        // While the ride is on, its positions are the rider's: the rider sees them, the owner
        // sees the vehicle's earlier history only, anyone else nothing, and no one anonymously.
        let live = try await domain.call("vehicles.location_history", LocationHistoryParams(id: vehicle.id, limit: 10),
                                         as: LocationHistoryResult.self, as: rider)
        #expect(!live.locations.isEmpty && live.locations.allSatisfy { $0.rideID == ride.id })
        #expect(live.locations.contains { $0.latitude == waypoint.latitude })
        // Nor does the vehicle's public position follow the rider: it stays where the ride began.
        let during = try await domain.call("vehicles.get", VehiclesGetParams(id: vehicle.id), as: VehicleResult.self).vehicle
        #expect(during.location == vehicle.location, "\(during.location)")
        let ownersView = try await domain.call("vehicles.location_history", LocationHistoryParams(id: vehicle.id, limit: 10),
                                               as: LocationHistoryResult.self, as: owner)
        #expect(ownersView.locations.allSatisfy { $0.rideID != ride.id }, "\(ownersView.locations)")
        await expectRPCError(403, reason: "not_vehicle_owner") {
            try await domain.call("vehicles.location_history", LocationHistoryParams(id: vehicle.id), as: LocationHistoryResult.self,
                                  as: other)
        }
        await expectRPCError(401, reason: "missing_token") {
            try await domain.call("vehicles.location_history", LocationHistoryParams(id: vehicle.id), as: LocationHistoryResult.self)
        }
        let end = Location(latitude: 41.895, longitude: 12.482)
        let ended = try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: end, battery: 61),
                                          as: RideResult.self, as: rider).ride
        #expect(ended.endLocation == end)
        #expect((ended.durationSeconds ?? -1) >= 0)
        #expect(ended.endTime.map { $0 >= ended.startTime } == true)
        // Under a minute: the unlock fee plus one started minute, in euros.
        #expect(ended.revenue == "1.22" || ended.revenue == "1.44")
        #expect(ended.currency == "EUR")

        let released = try await domain.call("vehicles.get", VehiclesGetParams(id: vehicle.id), as: VehicleResult.self).vehicle
        #expect(released.status == .available && released.location == end && released.battery == 61)
        // Once the ride has ended, its path is part of the vehicle's history, for its owner; the
        // former rider no longer sees anything of the vehicle.
        let history = try await domain.call("vehicles.location_history", LocationHistoryParams(id: vehicle.id, limit: 10),
                                            as: LocationHistoryResult.self, as: owner)
        #expect(history.locations.contains { $0.rideID == ride.id && $0.latitude == waypoint.latitude })
        await expectRPCError(403, reason: "not_vehicle_owner") {
            try await domain.call("vehicles.location_history", LocationHistoryParams(id: vehicle.id), as: LocationHistoryResult.self,
                                  as: rider)
        }

        await expectRPCError(409, reason: "ride_already_ended") {
            try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: end), as: RideResult.self, as: rider)
        }
        let fetched = try await domain.call("rides.get", RidesGetParams(id: ride.id), as: RideResult.self, as: rider).ride
        #expect(fetched == ended)
        let list = try await domain.call("rides.list", RidesListParams(), as: RidesListResult.self, as: rider)
        #expect(list.rides.map(\.id) == [ride.id])
        let active = try await domain.call("rides.list", RidesListParams(activeOnly: true), as: RidesListResult.self, as: rider)
        #expect(active.rides.isEmpty)
        try await domain.expectInvariants()
        await domain.shutdown()
    }

    @Test func unknownRidesAndVehiclesAreNotFound() async throws {
        let domain = try await Domain.connect()
        let rider = try await domain.newUser()
        await expectRPCError(404, reason: "vehicle_not_found") {
            try await domain.call("rides.start", RidesStartParams(vehicleID: UUID()), as: RideResult.self, as: rider)
        }
        await expectRPCError(404, reason: "ride_not_found") {
            try await domain.call("rides.get", RidesGetParams(id: UUID()), as: RideResult.self, as: rider)
        }
        await expectRPCError(404, reason: "ride_not_found") {
            try await domain.call("rides.end", RidesEndParams(rideID: UUID(), location: Location(latitude: 1, longitude: 1)),
                                  as: RideResult.self, as: rider)
        }
        try await domain.expectInvariants()
        await domain.shutdown()
    }

    @Test func promoCodesDiscountTheNextRide() async throws {
        let domain = try await Domain.connect()
        let admin = try await domain.newUser()
        let rider = try await domain.newUser()
        let code = "IT\(UUID().uuidString.prefix(6).uppercased())"
        let create = PromoCodesCreateParams(code: code, description: "integration", percentOff: 50,
                                            expiresAt: RFC3339.string(from: Date().addingTimeInterval(3600)))
        await expectRPCError(403, reason: "admin_required") {
            try await domain.call("promo_codes.create", create, as: PromoCodeResult.self, as: admin)
        }
        try await domain.grantAdmin(admin)
        let created = try await domain.call("promo_codes.create", create, as: PromoCodeResult.self, as: admin)
        #expect(created.promoCode.code == code)
        await expectRPCError(409, reason: "promo_code_exists") {
            try await domain.call("promo_codes.create", create, as: PromoCodeResult.self, as: admin)
        }
        let listed = try await domain.call("promo_codes.list", EmptyObject(), as: PromoCodesListResult.self)
        #expect(listed.promoCodes.contains { $0.code == code })
        await expectRPCError(404, reason: "promo_code_not_found") {
            try await domain.call("promo_codes.apply", PromoCodesApplyParams(code: "NOPE\(code)"), as: UserPromoCodeResult.self,
                                  as: rider)
        }
        let applied = try await domain.call("promo_codes.apply", PromoCodesApplyParams(code: code),
                                            as: UserPromoCodeResult.self, as: rider)
        let again = try await domain.call("promo_codes.apply", PromoCodesApplyParams(code: code),
                                          as: UserPromoCodeResult.self, as: rider)
        #expect(applied == again)

        let vehicle = try await domain.newVehicle(owner: admin, type: .bike)
        let ride = try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id), as: RideResult.self,
                                         as: rider, city: "new york").ride
        let ended = try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: Location(latitude: 40.7, longitude: -74)),
                                          as: RideResult.self, as: rider).ride
        #expect(ended.promoCode == code)
        // bike in the US: 1.00 unlock + 0.15 per started minute = 1.15 (1.30 after a minute);
        // the 50% discount is rounded half-up to the cent (0.58, 0.65) and subtracted.
        #expect(ended.revenue == "0.57" || ended.revenue == "0.65", "\(ended.revenue ?? "nil")")
        try await domain.expectInvariants()
        await domain.shutdown()
    }
}
