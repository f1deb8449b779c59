import Foundation
import MovRAPI
import MovRPostgres
@testable import MovRRides
import Testing

@Suite("listing rides")
struct RideListingStoreTests {
    @Test func pagesGoNewestFirstWithoutGapsOrRepeats() async throws {
        try await withRidesStore { store async throws in
            let rider = UUID()
            let base = Date(timeIntervalSince1970: 1_790_000_000.123456)
            var rides: [Ride] = []
            // Seven ended rides; two pairs share a start time, so the id breaks the tie.
            let offsets: [Double] = [0, 10, 10, 20, 30, 30, 40]
            for offset in offsets {
                let ride = try await store.startForTest(newRide(rider: rider))
                try await store.setStartTime(rideID: ride.id, to: base.addingTimeInterval(offset))
                _ = try await store.endForTest(ride)
                rides.append(try #require(try await store.ride(id: ride.id, riderID: rider)))
            }
            let active = try await store.startForTest(newRide(rider: rider))
            _ = try await store.startForTest(newRide())  // someone else's

            let expected = ([active] + rides.sorted {
                ($0.startTime, $0.id.uuidString.lowercased()) > ($1.startTime, $1.id.uuidString.lowercased())
            }).map(\.id)
            var seen: [UUID] = []
            var cursor: PageCursor?
            var pages = 0
            repeat {
                let page = try await store.rides(riderID: rider, activeOnly: false, limit: 3, after: cursor)
                #expect(page.rides.count <= 3)
                seen += page.rides.map(\.id)
                cursor = page.next
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == expected)

            let onlyActive = try await store.rides(riderID: rider, activeOnly: true, limit: 3, after: nil)
            #expect(onlyActive.rides.map(\.id) == [active.id] && onlyActive.next == nil)
        }
    }

    /// The rider's page is planned for the rider's own id each time (a heavy rider's page read
    /// from the index in order, not the whole history sorted): never a prepared statement.
    @Test func theRidersPageIsPlannedForTheRiderEachTime() async throws {
        let rider = UUID()
        for activeOnly in [false, true] {
            for cursor in [nil, PageCursor(time: Date(), id: UUID())] {
                let query = RidesStore.riderRidesQuery(riderID: rider, activeOnly: activeOnly, limit: 25, after: cursor)
                #expect(query.plansEachExecution, "activeOnly \(activeOnly), cursor \(cursor == nil ? "none" : "set")")
            }
        }
    }

    @Test func aRideIsVisibleOnlyToItsRider() async throws {
        try await withRidesStore { store async throws in
            let ride = try await store.startForTest(newRide())
            #expect(try await store.ride(id: ride.id, riderID: ride.riderID) == ride)
            #expect(try await store.ride(id: ride.id, riderID: UUID()) == nil)
            #expect(try await store.hasActiveRide(riderID: ride.riderID))
            #expect(try await !store.hasActiveRide(riderID: UUID()))
            #expect(try await store.activeRides().map(\.rideID) == [ride.id])
        }
    }
}
