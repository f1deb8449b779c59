import Foundation
import MovRPostgres
import MovRRides
import MovRTestSupport
import Testing

@Suite("rides schema")
struct RidesSchemaTests {
    @Test func migrationsApplyOnce() async throws {
        try await TestPostgres.withClient { client async throws in
            #expect(try await Migrator(client: client).apply(RidesSchema.migrations) == [1])
            #expect(try await Migrator(client: client).apply(RidesSchema.migrations) == [])
        }
    }

    @Test func secondActiveRideOfAVehicleIsRejected() async throws {
        try await withRidesStore { store async throws in
            let vehicle = UUID()
            _ = try await store.startForTest(newRide(vehicle: vehicle))
            #expect(try await store.insertStartedRide(newRide(vehicle: vehicle)) == .vehicleHasActiveRide)

            // The database itself refuses it, not only the store's statement.
            let error = await #expect(throws: PostgresError.self) {
                _ = try await store.database.query("""
                    INSERT INTO rides (id, city, region, vehicle_id, vehicle_type, rider_id, status,
                                       start_latitude, start_longitude, currency)
                    VALUES (\(UUID()), 'new york', 'us-east1', \(vehicle), 'scooter', \(UUID()), 'active', 0, 0, 'USD')
                    """)
            }
            #expect(error?.constraintName == "rides_one_active_per_vehicle")
            #expect(try await store.count("SELECT count(*) FROM rides") == 1)
        }
    }

    @Test func secondActiveRideOfARiderIsRejected() async throws {
        try await withRidesStore { store async throws in
            let rider = UUID()
            let first = try await store.startForTest(newRide(rider: rider))
            let second = newRide(rider: rider)
            #expect(try await store.insertStartedRide(second) == .riderHasActiveRide)
            // Neither the ride nor its claim survive the refused statement.
            #expect(try await store.count("SELECT count(*) FROM ride_claims") == 1)

            // Once the first ride ended, the rider may start another.
            _ = try await store.endForTest(first)
            _ = try await store.startForTest(newRide(rider: rider))
        }
    }

    @Test func anEndedRideMustBeComplete() async throws {
        try await withRidesStore { store async throws in
            let ride = try await store.startForTest(newRide())
            let error = await #expect(throws: PostgresError.self) {
                _ = try await store.database.query("""
                    UPDATE rides SET status = 'ended', end_time = now() WHERE id = \(ride.id)
                    """)
            }
            #expect(error?.constraintName == "rides_status_matches_end")
        }
    }

    @Test func endTimeBeforeStartTimeAndNegativeRevenueAreRejected() async throws {
        try await withRidesStore { store async throws in
            let ride = try await store.startForTest(newRide())
            let early = await #expect(throws: PostgresError.self) {
                _ = try await store.database.query("""
                    UPDATE rides SET status = 'ended', end_time = start_time - interval '1 second',
                        end_latitude = 0, end_longitude = 0, revenue = 1 WHERE id = \(ride.id)
                    """)
            }
            #expect(early?.constraintName == "rides_end_after_start")
            let negative = await #expect(throws: PostgresError.self) {
                _ = try await store.database.query("""
                    UPDATE rides SET status = 'ended', end_time = start_time,
                        end_latitude = 0, end_longitude = 0, revenue = -0.01 WHERE id = \(ride.id)
                    """)
            }
            #expect(negative?.constraintName == "rides_revenue_not_negative")
        }
    }
}
