import Foundation
import MovRAPI
import MovRRPC
import Testing

/// docs/architecture.md §2 invariant 5: a user sees and changes only their own rides, profile and vehicles.
@Suite struct AuthorizationTests {
    @Test func anotherUsersRideAndVehicleAreNeitherVisibleNorChangeable() async throws {
        let domain = try await Domain.connect()
        let alice = try await domain.newUser(city: "seattle")
        let mallory = try await domain.newUser(city: "seattle")
        let vehicle = try await domain.newVehicle(owner: alice, city: "seattle")
        let other = try await domain.newVehicle(owner: alice, city: "seattle")
        let ride = try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id), as: RideResult.self,
                                         as: alice, city: "seattle").ride

        await expectRPCError(404, reason: "ride_not_found") {
            try await domain.call("rides.get", RidesGetParams(id: ride.id), as: RideResult.self, as: mallory)
        }
        await expectRPCError(404, reason: "ride_not_found") {
            try await domain.call("rides.update_location",
                                  RidesUpdateLocationParams(rideID: ride.id, location: Location(latitude: 0, longitude: 0)),
                                  as: EmptyObject.self, as: mallory)
        }
        await expectRPCError(404, reason: "ride_not_found") {
            try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: Location(latitude: 0, longitude: 0)),
                                  as: RideResult.self, as: mallory)
        }
        let malloryRides = try await domain.call("rides.list", RidesListParams(), as: RidesListResult.self, as: mallory)
        #expect(malloryRides.rides.isEmpty)
        await expectRPCError(403, reason: "not_vehicle_owner") {
            try await domain.call("vehicles.remove", VehiclesRemoveParams(id: other.id), as: VehicleResult.self, as: mallory)
        }
        // The owner cannot remove a vehicle during a ride either.
        await expectRPCError(409, reason: "vehicle_in_use") {
            try await domain.call("vehicles.remove", VehiclesRemoveParams(id: vehicle.id), as: VehicleResult.self, as: alice)
        }
        let me = try await domain.call("users.me", EmptyObject(), as: UserResult.self, as: mallory)
        #expect(me.user.id == mallory.user.id)

        // Alice's ride is untouched by all of that.
        let still = try await domain.call("rides.get", RidesGetParams(id: ride.id), as: RideResult.self, as: alice).ride
        #expect(still.isActive)
        _ = try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: Location(latitude: 47.6, longitude: -122.3)),
                                  as: RideResult.self, as: alice)
        try await domain.expectInvariants()
        await domain.shutdown()
    }
}
