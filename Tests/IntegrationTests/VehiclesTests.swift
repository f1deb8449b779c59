import Foundation
import MovRAPI
import MovRRPC
import Testing

/// vehicles.add, get, list, remove, location_history through the gateway.
@Suite struct VehiclesTests {
    @Test func addGetRemoveAndHistory() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser(city: "chicago")
        // City from X-City when the param is absent.
        let added = try await domain.call(
            "vehicles.add",
            VehiclesAddParams(type: .bike, location: Location(latitude: 41.88, longitude: -87.63), color: "green",
                              brand: "Trek", battery: 77),
            as: VehicleResult.self, as: owner, city: "detroit").vehicle
        #expect(added.city == "detroit" && added.region == "us-central1")
        #expect(added.ownerID == owner.user.id && added.status == .available && added.battery == 77)
        let fetched = try await domain.call("vehicles.get", VehiclesGetParams(id: added.id), as: VehicleResult.self).vehicle
        #expect(fetched == added)
        let history = try await domain.call("vehicles.location_history", LocationHistoryParams(id: added.id),
                                            as: LocationHistoryResult.self, as: owner)
        #expect(history.locations.count == 1)
        let removed = try await domain.call("vehicles.remove", VehiclesRemoveParams(id: added.id), as: VehicleResult.self,
                                            as: owner).vehicle
        #expect(removed.status == .removed)
        let page = try await domain.call("vehicles.list", VehiclesListParams(city: "detroit", limit: 100),
                                         as: VehiclesListResult.self)
        #expect(!page.vehicles.contains { $0.id == added.id })
        try await domain.expectInvariants()
        await domain.shutdown()
    }

    /// An owner's vehicles in every city and status but removed, a page at a time; nobody else's.
    @Test func mineListsTheCallersVehiclesInEveryCityAndStatus() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser()
        let neighbour = try await domain.newUser()
        let rider = try await domain.newUser()
        let first = try await domain.newVehicle(owner: owner)
        let second = try await domain.newVehicle(owner: owner)
        let gone = try await domain.newVehicle(owner: owner)
        let abroad = try await domain.newVehicle(owner: owner, city: "rome")
        let theirs = try await domain.newVehicle(owner: neighbour)
        _ = try await domain.call("vehicles.remove", VehiclesRemoveParams(id: gone.id), as: VehicleResult.self, as: owner)
        let ride = try await domain.call("rides.start", RidesStartParams(vehicleID: first.id), as: RideResult.self,
                                         as: rider, city: "new york").ride

        var seen: [Vehicle] = []
        var cursor: String?
        repeat {
            let page = try await domain.call("vehicles.mine", VehiclesMineParams(limit: 2, cursor: cursor),
                                             as: VehiclesListResult.self, as: owner)
            #expect(page.vehicles.count <= 2)
            seen += page.vehicles
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen.map(\.id) == [first.id, second.id, abroad.id], "oldest first, removed left out")
        #expect(seen.first?.status == .inUse && seen.allSatisfy { $0.ownerID == owner.user.id })
        #expect(!seen.contains { $0.id == theirs.id })

        await expectRPCError(401, reason: "missing_token") {
            try await domain.call("vehicles.mine", VehiclesMineParams(), as: VehiclesListResult.self)
        }
        await expectRPCError(-32602) {
            try await domain.call("vehicles.mine", VehiclesMineParams(cursor: "not a cursor"), as: VehiclesListResult.self,
                                  as: owner)
        }
        _ = try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: Location(latitude: 40.75, longitude: -73.99)),
                                  as: RideResult.self, as: rider)
        await domain.shutdown()
    }

    @Test func retriedAddWithTheSameKeyCreatesOneVehicle() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser()
        let params = VehiclesAddParams(type: .skateboard, city: "boston", location: Location(latitude: 42.36, longitude: -71.06),
                                       color: "black", brand: "Board", idempotencyKey: "add-\(UUID().uuidString.prefix(8))")
        async let first = domain.call("vehicles.add", params, as: VehicleResult.self, as: owner)
        async let second = domain.call("vehicles.add", params, as: VehicleResult.self, as: owner)
        let (a, b) = try await (first, second)
        #expect(a.vehicle.id == b.vehicle.id)
        await domain.shutdown()
    }

    @Test func invalidVehiclesAreRefusedWithTheField() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser()
        await expectRPCError(-32602, field: "battery") {
            try await domain.call("vehicles.add",
                                  VehiclesAddParams(type: .scooter, city: "boston", location: Location(latitude: 42, longitude: -71),
                                                    color: "red", brand: "X", battery: 101),
                                  as: VehicleResult.self, as: owner)
        }
        await expectRPCError(-32602, field: "location.latitude") {
            try await domain.call("vehicles.add",
                                  VehiclesAddParams(type: .scooter, city: "boston", location: Location(latitude: 95, longitude: -71),
                                                    color: "red", brand: "X"),
                                  as: VehicleResult.self, as: owner)
        }
        await expectRPCError(-32602, reason: "unknown_city") {
            try await domain.call("vehicles.add",
                                  VehiclesAddParams(type: .scooter, city: "gotham", location: Location(latitude: 42, longitude: -71),
                                                    color: "red", brand: "X"),
                                  as: VehicleResult.self, as: owner)
        }
        await expectRPCError(401) {
            try await domain.call("vehicles.add",
                                  VehiclesAddParams(type: .scooter, city: "boston", location: Location(latitude: 42, longitude: -71),
                                                    color: "red", brand: "X"),
                                  as: VehicleResult.self)
        }
        await expectRPCError(404, reason: "vehicle_not_found") {
            try await domain.call("vehicles.get", VehiclesGetParams(id: UUID()), as: VehicleResult.self)
        }
        await expectRPCError(-32602, reason: "unknown_city") {
            try await domain.call("vehicles.list", VehiclesListParams(city: "gotham"), as: VehiclesListResult.self)
        }
        await domain.shutdown()
    }

    /// Regression for a remote crash: this cursor's sort key overflowed a time conversion in
    /// movr-vehicles (and the same sink existed in movr-rides). Both lists refuse it as
    /// `-32602 cursor`, and both services keep answering.
    @Test func forgedCursorsAreRefusedAndTheServicesStayUp() async throws {
        let domain = try await Domain.connect()
        let rider = try await domain.newUser()
        let forged = "AX__________AAAAAAAAAAAAAAAAAAAAAA"
        for _ in 0..<3 {
            await expectRPCError(-32602, field: "cursor") {
                try await domain.call("vehicles.list", VehiclesListParams(city: "new york", cursor: forged),
                                      as: VehiclesListResult.self)
            }
            await expectRPCError(-32602, field: "cursor") {
                try await domain.call("rides.list", RidesListParams(cursor: forged), as: RidesListResult.self, as: rider)
            }
        }
        let page = try await domain.call("vehicles.list", VehiclesListParams(city: "new york", limit: 5),
                                         as: VehiclesListResult.self)
        #expect(!page.vehicles.isEmpty)
        _ = try await domain.call("rides.list", RidesListParams(), as: RidesListResult.self, as: rider)
        await domain.shutdown()
    }

    @Test func clientsCannotSetStatusOwnerOrRegion() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser()
        for (key, value) in [("status", "\"in_use\""), ("owner_id", "\"\(UUID().uuidString)\""), ("region", "\"europe-west1\"")] {
            let body = """
                {"type":"scooter","city":"boston","location":{"latitude":42,"longitude":-71},"color":"red","brand":"X","\(key)":\(value)}
                """
            let params = try JSONValue.parse(Array(body.utf8))
            await expectRPCError(-32602, field: key) {
                try await domain.call("vehicles.add", params, as: VehicleResult.self, as: owner)
            }
        }
        await domain.shutdown()
    }
}
