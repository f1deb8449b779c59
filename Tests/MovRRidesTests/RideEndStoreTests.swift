import Foundation
import MovRAPI
import MovRRides
import Testing

@Suite("ending rides")
struct RideEndStoreTests {
    @Test func revenueIsUnlockPlusStartedMinutes() async throws {
        try await withRidesStore { store async throws in
            let ride = try await store.startForTest(newRide(type: "scooter"))
            // 10 min 30 s and a little more: 11 started minutes -> 1.00 + 11 x 0.25.
            try await store.backdate(rideID: ride.id, seconds: 630)
            let end = Location(latitude: 40.72, longitude: -73.99)
            let ended = try await store.endForTest(ride, at: end, battery: 42)
            #expect(ended.ride.revenue == "3.75")
            #expect(ended.ride.currency == "USD")
            #expect(ended.ride.promoCode == nil && ended.percentOff == nil)
            #expect(ended.ride.endLocation == end)
            let endTime = try #require(ended.ride.endTime)
            #expect(endTime >= ended.ride.startTime)
            #expect((630...700).contains(try #require(ended.ride.durationSeconds)))
            #expect(ended.release == ReleaseVehicleEffect(vehicleID: ride.vehicleID, latitude: 40.72, longitude: -73.99, battery: 42))
            #expect(try await store.ride(id: ride.id, riderID: ride.riderID) == ended.ride)
        }
    }

    /// The release `rides.end` delivers (taken from the ended ride's row) and the one the relay
    /// reads from the outbox payload (jsonb as PostgreSQL prints it, numbers through `numeric`,
    /// read back by the service's own JSON parser) are the same: every coordinate comes back as
    /// the double it was, a missing battery as missing.
    @Test func theReleaseCarriesEveryCoordinateExactlyAndAMissingBattery() async throws {
        try await withRidesStore { store async throws in
            let places = [(40.712_345_678_901_23, -73.987_654_321_098_76), (-89.999_999_999_999_99, 179.999_999_999_999_97),
                          (0.000_000_1, -1e-300), (5e-324, -0.0), (90, -180)]
            for (index, (latitude, longitude)) in places.enumerated() {
                let ride = try await store.startForTest(newRide(type: "bike"))
                let end = Location(latitude: latitude, longitude: longitude)
                let battery = index.isMultiple(of: 2) ? nil : index * 20
                let ended = try await store.endForTest(ride, at: end, battery: battery)
                let expected = ReleaseVehicleEffect(vehicleID: ride.vehicleID, latitude: latitude, longitude: longitude, battery: battery)
                #expect(ended.release == expected, "\(end)")

                try await store.retryOutbox(id: ended.outboxID, after: .zero)
                let relayed = try await store.leaseDueOutbox(limit: 10)
                #expect(relayed.map(\.release) == [expected], "\(end)")
                try await store.deleteOutbox(id: ended.outboxID)
            }
        }
    }

    @Test func bestUnexpiredUnusedPromoIsAppliedAndUsedUp() async throws {
        try await withRidesStore { store async throws in
            let rider = UUID()
            try await store.makePromo("TEN", percentOff: 10)
            try await store.makePromo("QUARTER", percentOff: 25)
            // Valid while it is applied, however slow the machine; expired by hand below. (It
            // expired 2 s after creation, and a clean-clone run under load took longer than that
            // to apply it.)
            try await store.makePromo("SOON", percentOff: 50, expiresIn: 600)
            for code in ["TEN", "QUARTER", "SOON"] {
                _ = try #require(try await store.applyPromoCode(userID: rider, code: code))
            }
            _ = try await store.database.query("UPDATE promo_codes SET expires_at = now() - interval '1 second' WHERE code = 'SOON'")

            let first = try await store.startForTest(newRide(rider: rider))
            try await store.backdate(rideID: first.id, seconds: 630)
            let firstEnded = try await store.endForTest(first)
            // 3.75 minus 25 % (0.9375 rounds half up to 0.94).
            #expect(firstEnded.ride.revenue == "2.81")
            #expect(firstEnded.ride.promoCode == "QUARTER" && firstEnded.percentOff == 25)
            #expect(try await store.count("""
                SELECT count(*) FROM user_promo_codes WHERE code = 'QUARTER' AND used_at IS NOT NULL AND ride_id = '\(first.id)'
                """) == 1)

            // The next ride gets the next best code; expired codes never count.
            let second = try await store.startForTest(newRide(rider: rider))
            try await store.backdate(rideID: second.id, seconds: 630)
            let secondEnded = try await store.endForTest(second)
            #expect(secondEnded.ride.revenue == "3.37")  // 3.75 - 0.38 (0.375 rounds half up)
            #expect(secondEnded.ride.promoCode == "TEN")

            let third = try await store.startForTest(newRide(rider: rider))
            try await store.backdate(rideID: third.id, seconds: 630)
            #expect(try await store.endForTest(third).ride.promoCode == nil)
        }
    }

    @Test func anotherRidersRideIsNotFoundAndASecondEndIsRefused() async throws {
        try await withRidesStore { store async throws in
            let ride = try await store.startForTest(newRide())
            let location = Location(latitude: 1, longitude: 1)
            #expect(try await store.endRide(id: ride.id, riderID: UUID(), location: location, battery: nil) == .notFound)
            #expect(try await store.endRide(id: UUID(), riderID: ride.riderID, location: location, battery: nil) == .notFound)
            _ = try await store.endForTest(ride)
            #expect(try await store.endRide(id: ride.id, riderID: ride.riderID, location: location, battery: nil) == .alreadyEnded)
            #expect(try await store.count("SELECT count(*) FROM outbox") == 1)
        }
    }

    @Test func concurrentEndsEndTheRideOnce() async throws {
        try await withRidesStore { store async throws in
            let ride = try await store.startForTest(newRide())
            let location = Location(latitude: 1, longitude: 1)
            let outcomes = try await withThrowingTaskGroup(of: EndRideOutcome.self) { group in
                for _ in 0..<6 {
                    group.addTask { try await store.endRide(id: ride.id, riderID: ride.riderID, location: location, battery: 5) }
                }
                return try await group.reduce(into: [EndRideOutcome]()) { $0.append($1) }
            }
            #expect(outcomes.filter { if case .ended = $0 { true } else { false } }.count == 1)
            #expect(outcomes.filter { $0 == .alreadyEnded }.count == 5)
            #expect(try await store.count("SELECT count(*) FROM outbox") == 1)
        }
    }

    @Test func theOutboxEntryIsLeasedBeforeItIsRelayed() async throws {
        try await withRidesStore { store async throws in
            let ride = try await store.startForTest(newRide())
            let ended = try await store.endForTest(ride, battery: 33)
            // Left to the request that wrote it for a while.
            #expect(try await store.leaseDueOutbox(limit: 10).isEmpty)

            try await store.retryOutbox(id: ended.outboxID, after: .zero)
            let leased = try await store.leaseDueOutbox(limit: 10)
            #expect(leased == [OutboxEntry(id: ended.outboxID, rideID: ride.id, attempts: 1, release: ended.release)])
            #expect(try await store.leaseDueOutbox(limit: 10).isEmpty, "a leased entry is not handed out twice")

            try await store.deleteOutbox(id: ended.outboxID)
            #expect(try await store.count("SELECT count(*) FROM outbox") == 0)
        }
    }

    @Test func positionsAreRecordedOnlyForTheRidersActiveRide() async throws {
        try await withRidesStore { store async throws in
            let ride = try await store.startForTest(newRide())
            let here = Location(latitude: 40.8, longitude: -73.9)
            #expect(try await store.recordLocation(rideID: ride.id, riderID: ride.riderID, location: here)
                    == .recorded(vehicleID: ride.vehicleID))
            #expect(try await store.recordLocation(rideID: ride.id, riderID: UUID(), location: here) == .notFound)
            _ = try await store.endForTest(ride)
            #expect(try await store.recordLocation(rideID: ride.id, riderID: ride.riderID, location: here) == .alreadyEnded)
            #expect(try await store.count("SELECT count(*) FROM ride_locations") == 1)
        }
    }
}
