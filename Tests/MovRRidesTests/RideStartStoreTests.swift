import Foundation
import MovRAPI
import MovRRides
import Testing

@Suite("recording started rides")
struct RideStartStoreTests {
    @Test func insertIsIdempotentPerRideID() async throws {
        try await withRidesStore { store async throws in
            let ride = newRide()
            let first = try await store.startForTest(ride)
            #expect(first.id == ride.id && first.riderID == ride.riderID && first.vehicleID == ride.vehicleID)
            #expect(first.isActive && first.revenue == nil && first.durationSeconds == nil)
            #expect(first.currency == "USD" && first.city == "new york" && first.region == "us-east1")
            #expect(try await store.insertStartedRide(ride) == .alreadyRecorded)
            #expect(try await store.count("SELECT count(*) FROM rides") == 1)
        }
    }

    @Test func aTombstonePreventsALateInsert() async throws {
        try await withRidesStore { store async throws in
            let ride = newRide()
            #expect(try await store.cancelRide(id: ride.id, region: "us-east1", reason: "vehicle_unavailable") == .cancelled)
            #expect(try await store.insertStartedRide(ride) == .cancelled(reason: "vehicle_unavailable"))
            #expect(try await store.count("SELECT count(*) FROM rides") == 0)
            // Cancelling again is harmless.
            #expect(try await store.cancelRide(id: ride.id, region: "us-east1", reason: "vehicle_unavailable") == .cancelled)
        }
    }

    @Test func aRecordedRideCannotBeCancelled() async throws {
        try await withRidesStore { store async throws in
            let ride = try await store.startForTest(newRide())
            #expect(try await store.cancelRide(id: ride.id, region: "us-east1", reason: "vehicle_unavailable") == .started)
            #expect(try await store.count("SELECT count(*) FROM rides WHERE status = 'active'") == 1)
        }
    }

    /// Start and reconciler race for the same ids: exactly one side wins each id, never both.
    @Test func concurrentInsertAndCancelNeverBothWin() async throws {
        try await withRidesStore { store async throws in
            let rides = (0..<24).map { _ in newRide() }
            let outcomes = try await withThrowingTaskGroup(of: (UUID, Bool?, Bool?).self) { group in
                for ride in rides {
                    group.addTask {
                        let inserted = try await store.insertStartedRide(ride)
                        if case .inserted = inserted { return (ride.id, true, nil) }
                        return (ride.id, false, nil)
                    }
                    group.addTask {
                        let cancelled = try await store.cancelRide(id: ride.id, region: "us-east1", reason: "vehicle_unavailable")
                        return (ride.id, nil, cancelled == .cancelled)
                    }
                }
                var byRide: [UUID: (inserted: Bool, cancelled: Bool)] = [:]
                for try await (id, inserted, cancelled) in group {
                    var entry = byRide[id] ?? (false, false)
                    if let inserted { entry.inserted = inserted }
                    if let cancelled { entry.cancelled = cancelled }
                    byRide[id] = entry
                }
                return byRide
            }
            for ride in rides {
                let outcome = try #require(outcomes[ride.id])
                #expect(outcome.inserted != outcome.cancelled, "exactly one side wins ride \(ride.id)")
            }
            let inserted = outcomes.values.filter(\.inserted).count
            #expect(try await store.count("SELECT count(*) FROM rides") == inserted)
            #expect(try await store.count("SELECT count(*) FROM ride_claims WHERE outcome = 'cancelled'") == rides.count - inserted)
        }
    }

    @Test func precheckTellsEveryCase() async throws {
        try await withRidesStore { store async throws in
            let rider = UUID()
            #expect(try await store.precheckStart(rideID: UUID(), riderID: rider) == .clear)

            let ride = try await store.startForTest(newRide(rider: rider))
            #expect(try await store.precheckStart(rideID: ride.id, riderID: rider) == .existing(ride))
            #expect(try await store.precheckStart(rideID: ride.id, riderID: UUID()) == .idOfAnotherRider)
            #expect(try await store.precheckStart(rideID: UUID(), riderID: rider) == .riderHasActiveRide)

            let cancelled = UUID()
            _ = try await store.cancelRide(id: cancelled, region: "us-east1", reason: "active_ride_exists")
            #expect(try await store.precheckStart(rideID: cancelled, riderID: UUID()) == .cancelled(reason: "active_ride_exists"))
        }
    }
}
