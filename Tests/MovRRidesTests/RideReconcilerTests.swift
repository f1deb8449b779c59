import Foundation
import MovRAPI
import MovRInternalAPI
import MovRRides
import Testing

@Suite("reconciler")
struct RideReconcilerTests {
    @Test func anOrphanedReservationIsTombstonedAndUndone() async throws {
        try await withRidesStore { store async throws in
            let vehicles = FakeVehicles()
            let flows = RideFlows(store: store, vehicles: vehicles, region: "us-east1", logger: testLogger)
            let reconciler = RideReconciler(flows: flows, grace: .seconds(5))
            let old = Date().addingTimeInterval(-60)

            // A start that died after reserving (the crash of FaultPoint.afterReserve).
            let orphanVehicle = await vehicles.addVehicle()
            let orphanRide = UUID()
            await vehicles.hold(vehicleID: orphanVehicle, rideID: orphanRide, reservedAt: old)
            let youngVehicle = await vehicles.addVehicle()
            // A healthy active ride.
            let activeVehicle = await vehicles.addVehicle()
            let active = try await flows.start(RideStart(rideID: UUID(), riderID: UUID(), vehicleID: activeVehicle))
            await vehicles.hold(vehicleID: activeVehicle, rideID: active.id, reservedAt: old)
            // An ended ride whose release was lost and is no longer in the outbox.
            let endedVehicle = await vehicles.addVehicle()
            let endedRide = try await store.startForTest(newRide(vehicle: endedVehicle))
            let endedLocation = Location(latitude: 40.9, longitude: -73.8)
            let ended = try await store.endForTest(endedRide, at: endedLocation)
            try await store.deleteOutbox(id: ended.outboxID)
            await vehicles.hold(vehicleID: endedVehicle, rideID: endedRide.id, reservedAt: old)
            // A start still in flight: too young to judge. Held last, so the statements above
            // (seconds on a loaded machine) do not age it past the grace.
            await vehicles.hold(vehicleID: youngVehicle, rideID: UUID(), reservedAt: Date())
            // Both passes judge ages at this instant: a pass on a loaded database may take
            // longer than the grace, which must not age the young hold between the two.
            let now = Date()

            let report = try await reconciler.reconcileOnce(now: now)
            #expect(report.reservationsChecked == 3)
            #expect(report.cancelledRideIDs == [orphanRide])
            #expect(Set(report.releasedRideIDs) == [orphanRide, endedRide.id])
            #expect(report.failures == 0)
            #expect(await vehicles.held[orphanVehicle] == nil)
            #expect(await vehicles.held[endedVehicle] == nil)
            #expect(await vehicles.vehicles[endedVehicle]?.location == endedLocation)
            #expect(await vehicles.held[youngVehicle] != nil)
            #expect(await vehicles.held[activeVehicle]?.rideID == active.id)

            // The dead start cannot come back: its late insert meets the tombstone.
            #expect(try await store.insertStartedRide(newRide(id: orphanRide, vehicle: orphanVehicle))
                    == .cancelled(reason: "vehicle_unavailable"))

            // A second pass finds nothing more to do.
            let second = try await reconciler.reconcileOnce(now: now)
            #expect(second.cancelledRideIDs.isEmpty && second.releasedRideIDs.isEmpty)
        }
    }

    @Test func reservationsOfOtherRegionsAreLeftToThem() async throws {
        try await withRidesStore { store async throws in
            let vehicles = FakeVehicles()
            let flows = RideFlows(store: store, vehicles: vehicles, region: "europe-west1", logger: testLogger)
            let vehicle = await vehicles.addVehicle()
            await vehicles.hold(vehicleID: vehicle, rideID: UUID(), reservedAt: Date().addingTimeInterval(-60))
            let report = try await RideReconciler(flows: flows, grace: .seconds(5)).reconcileOnce()
            #expect(report.reservationsChecked == 0)
            #expect(await vehicles.held[vehicle] != nil)
        }
    }

    @Test func anEndedRideWithAPendingReleaseIsLeftToTheOutbox() async throws {
        try await withRidesStore { store async throws in
            let ride = try await store.startForTest(newRide())
            _ = try await store.endForTest(ride)
            let states = try await store.reservedRideStates(rideIDs: [ride.id, UUID()])
            #expect(states[ride.id] == .ended(endLocation: Location(latitude: 40.71, longitude: -74.01), releasePending: true))
            #expect(states.values.contains(.unknown))
        }
    }

    @Test func backoffGrowsAndIsCapped() {
        #expect([0, 1, 2, 5, 6, 40].map(RideFlows.backoff(attempts:)) == [.seconds(1), .seconds(2), .seconds(4), .seconds(32), .seconds(60), .seconds(60)])
    }
}
