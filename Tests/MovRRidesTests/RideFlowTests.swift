import Foundation
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRRides
import Testing

/// The cross-service flows against a real database and a test double of the vehicles service
/// (the real one is exercised by the integration tests).
@Suite("ride flows")
struct RideFlowTests {
    func withFlows<R>(_ body: (RideFlows, FakeVehicles) async throws -> R) async throws -> R {
        try await withRidesStore { store async throws in
            let vehicles = FakeVehicles()
            return try await body(RideFlows(store: store, vehicles: vehicles, region: "us-east1", logger: testLogger), vehicles)
        }
    }

    /// What the vehicles service (here its double) answered, passed on as it came.
    func rpcError(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            return RPCError(code: 0, message: "\(error)", data: nil)
        }
    }

    @Test func startRecordsTheRideWithTheVehiclesFacts() async throws {
        try await withFlows { flows, vehicles async throws in
            let vehicle = await vehicles.addVehicle(type: .bike, city: "boston")
            let params = RideStart(rideID: UUID(), riderID: UUID(), vehicleID: vehicle)
            let ride = try await flows.start(params)
            #expect(ride.id == params.rideID && ride.vehicleID == vehicle && ride.city == "boston")
            #expect(ride.currency == "USD" && ride.isActive)
            #expect(await vehicles.held[vehicle]?.rideID == params.rideID)

            // A retry (same ride id) answers with the same ride and reserves nothing new.
            #expect(try await flows.start(params) == ride)
            #expect(await vehicles.reserveCalls == 1)
            // The same id from another rider is a key collision.
            let reused = RideStart(rideID: params.rideID, riderID: UUID(), vehicleID: vehicle)
            await #expect(throws: RidesError.idempotencyKeyReused) { _ = try await flows.start(reused) }
        }
    }

    @Test func aBusyRiderCannotStartAndNothingIsReserved() async throws {
        try await withFlows { flows, vehicles async throws in
            let rider = UUID()
            _ = try await flows.start(RideStart(rideID: UUID(), riderID: rider,
                                                               vehicleID: await vehicles.addVehicle()))
            let other = await vehicles.addVehicle()
            await #expect(throws: RidesError.activeRideExists) {
                _ = try await flows.start(RideStart(rideID: UUID(), riderID: rider, vehicleID: other))
            }
            #expect(await vehicles.held[other] == nil)
            #expect(await vehicles.reserveCalls == 1)
        }
    }

    @Test func aLostRaceBetweenTwoStartsOfOneRiderUndoesTheReservation() async throws {
        try await withFlows { flows, vehicles async throws in
            let rider = UUID()
            let first = await vehicles.addVehicle()
            let second = await vehicles.addVehicle()
            let store = flows.store
            // While the second start is between reserve and record, another start of the rider wins.
            await vehicles.setAfterReserve {
                _ = try await store.startForTest(newRide(rider: rider, vehicle: first))
            }
            let rideID = UUID()
            let params = RideStart(rideID: rideID, riderID: rider, vehicleID: second)
            await #expect(throws: RidesError.activeRideExists) { _ = try await flows.start(params) }
            #expect(await vehicles.held[second] == nil, "the reservation was undone")
            #expect(await vehicles.releases.map(\.rideID) == [rideID])
            // The id is a tombstone: a retry gets the same answer, never a late ride.
            await vehicles.setAfterReserve(nil)
            await #expect(throws: RidesError.activeRideExists) { _ = try await flows.start(params) }
            #expect(try await store.ride(id: rideID, riderID: rider) == nil)
        }
    }

    @Test func vehicleErrorsPassThrough() async throws {
        try await withFlows { flows, vehicles async throws in
            let vehicle = await vehicles.addVehicle()
            _ = try await flows.start(RideStart(rideID: UUID(), riderID: UUID(), vehicleID: vehicle))
            let taken = await rpcError {
                _ = try await flows.start(RideStart(rideID: UUID(), riderID: UUID(), vehicleID: vehicle))
            }
            #expect(taken?.code == 409 && taken?.data?.reason == "vehicle_unavailable")
            let missing = await rpcError {
                _ = try await flows.start(RideStart(rideID: UUID(), riderID: UUID(), vehicleID: UUID()))
            }
            #expect(missing?.code == 404 && missing?.data?.reason == "vehicle_not_found")
        }
    }

    @Test func endReleasesTheVehicleAtTheEndLocationAndClearsTheOutbox() async throws {
        try await withFlows { flows, vehicles async throws in
            let vehicle = await vehicles.addVehicle()
            let rider = UUID()
            let ride = try await flows.start(RideStart(rideID: UUID(), riderID: rider, vehicleID: vehicle))
            let end = Location(latitude: 40.75, longitude: -73.98)
            let ended = try await flows.end(InternalRidesEndParams(rideID: ride.id, riderID: rider, location: end, battery: 61))
            #expect(ended.revenue == "1.25" && ended.endLocation == end && ended.durationSeconds != nil)
            #expect(await vehicles.held[vehicle] == nil)
            #expect(await vehicles.vehicles[vehicle]?.location == end)
            #expect(await vehicles.vehicles[vehicle]?.battery == 61)
            // Delivered; the entry goes with the next batched delete, not on the request path.
            #expect(try await flows.store.count("SELECT count(*) FROM outbox") == 1)
            await flows.acknowledgeDelivered()
            #expect(try await flows.store.count("SELECT count(*) FROM outbox") == 0)

            await #expect(throws: RidesError.rideAlreadyEnded) {
                _ = try await flows.end(InternalRidesEndParams(rideID: ride.id, riderID: rider, location: end, battery: nil))
            }
            await #expect(throws: RidesError.rideNotFound) {
                _ = try await flows.end(InternalRidesEndParams(rideID: ride.id, riderID: UUID(), location: end, battery: nil))
            }
        }
    }

    /// A vehicle that no longer exists cannot be released by retrying: its outbox entry is done.
    @Test func theReleaseOfAVanishedVehicleIsDroppedNotRetried() async throws {
        try await withFlows { flows, vehicles async throws in
            let start = RideStart(rideID: UUID(), riderID: UUID(), vehicleID: await vehicles.addVehicle())
            _ = try await flows.start(start)
            await vehicles.forget(start.vehicleID)
            _ = try await flows.end(InternalRidesEndParams(rideID: start.rideID, riderID: start.riderID,
                                                           location: Location(latitude: 40.75, longitude: -73.98), battery: nil))
            #expect(await vehicles.releases.map(\.rideID) == [start.rideID])
            await flows.acknowledgeDelivered()
            #expect(try await flows.store.count("SELECT count(*) FROM outbox") == 0)
        }
    }

    @Test func aFailedReleaseIsRelayedFromTheOutbox() async throws {
        try await withFlows { flows, vehicles async throws in
            let vehicle = await vehicles.addVehicle()
            let rider = UUID()
            let ride = try await flows.start(RideStart(rideID: UUID(), riderID: rider, vehicleID: vehicle))
            await vehicles.setFailReleases(true)
            let end = Location(latitude: 40.76, longitude: -73.97)
            _ = try await flows.end(InternalRidesEndParams(rideID: ride.id, riderID: rider, location: end, battery: 12))
            #expect(await vehicles.held[vehicle] != nil)
            #expect(try await flows.store.count("SELECT count(*) FROM outbox") == 1)

            await vehicles.setFailReleases(false)
            let reconciler = RideReconciler(flows: flows, grace: .seconds(5))
            var delivered = 0
            for _ in 0..<40 where delivered == 0 {
                delivered += try await reconciler.reconcileOnce().outboxDelivered
                if delivered == 0 { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(delivered == 1)
            #expect(await vehicles.held[vehicle] == nil)
            #expect(await vehicles.vehicles[vehicle]?.location == end)
            #expect(await vehicles.vehicles[vehicle]?.battery == 12)
            await flows.acknowledgeDelivered()
            #expect(try await flows.store.count("SELECT count(*) FROM outbox") == 0)
        }
    }

    @Test func positionsMoveTheVehicleOnlyDuringTheRidersRide() async throws {
        try await withFlows { flows, vehicles async throws in
            let vehicle = await vehicles.addVehicle()
            let rider = UUID()
            let ride = try await flows.start(RideStart(rideID: UUID(), riderID: rider, vehicleID: vehicle))
            let here = Location(latitude: 40.77, longitude: -73.96)
            try await flows.updateLocation(InternalRidesUpdateLocationParams(rideID: ride.id, riderID: rider, location: here))
            #expect(await vehicles.vehicles[vehicle]?.location == here)
            await #expect(throws: RidesError.rideNotFound) {
                try await flows.updateLocation(InternalRidesUpdateLocationParams(rideID: ride.id, riderID: UUID(), location: here))
            }
        }
    }
}
