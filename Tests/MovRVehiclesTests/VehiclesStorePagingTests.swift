import Foundation
import MovRAPI
import MovRInternalAPI
import Testing
@testable import MovRVehicles

/// Paging, the states a vehicle goes through and who sees its positions, against the same
/// migrated database as the rest of the store's suite.
extension VehiclesStoreTests {
    @discardableResult
    func add(_ store: VehiclesStore, city: String = "boston", owner: UUID = UUID()) async throws -> Vehicle {
        try await store.add(addParams(owner: owner, city: city))
    }

    /// Walks every page of `list` with page size `limit`; returns the ids in page order.
    func walk(limit: Int, _ list: (PageCursor?) async throws -> (vehicles: [Vehicle], next: PageCursor?))
        async throws -> [UUID] {
        var ids: [UUID] = []
        var cursor: PageCursor?
        repeat {
            let page = try await list(cursor)
            #expect(page.vehicles.count <= limit)
            #expect(page.next == nil || page.vehicles.count == limit)
            ids += page.vehicles.map(\.id)
            cursor = page.next
        } while cursor != nil
        return ids
    }

    @Test func availablePagesCoverTheCityOnceInOrder() async throws {
        try await withStore { store in
            var added: [Vehicle] = []
            for _ in 0..<7 { added.append(try await add(store)) }
            try await add(store, city: "seattle")
            let removed = try await add(store)
            _ = try await store.remove(id: removed.id, ownerID: removed.ownerID!)
            let reserved = try await add(store)
            _ = try await store.reserve(vehicleID: reserved.id, rideID: UUID())

            let ids = try await walk(limit: 3) { try await store.listAvailable(city: "boston", limit: 3, after: $0) }
            let expected = added.sorted { ($0.createdAt, $0.id.uuidString) < ($1.createdAt, $1.id.uuidString) }
            #expect(ids == expected.map(\.id))
            let first = try await store.listAvailable(city: "boston", limit: 100, after: nil)
            #expect(first.vehicles.map(\.id) == ids)
            #expect(first.next == nil)
            // A page exactly as long as what is left has no next page.
            let exact = try await store.listAvailable(city: "boston", limit: 7, after: nil)
            #expect(exact.vehicles.count == 7 && exact.next == nil)
        }
    }

    /// A vehicle added while a client pages is on a later page, never a page already read.
    @Test func aVehicleAddedWhilePagingComesLater() async throws {
        try await withStore { store in
            for _ in 0..<4 { try await add(store, city: "rome") }
            let first = try await store.listAvailable(city: "rome", limit: 2, after: nil)
            let late = try await add(store, city: "rome")
            let rest = try await walk(limit: 2) {
                try await store.listAvailable(city: "rome", limit: 2, after: $0 ?? first.next)
            }
            #expect(rest.last == late.id)
            #expect(Set(first.vehicles.map(\.id)).isDisjoint(with: rest))
            #expect(first.vehicles.count + rest.count == 5)
        }
    }

    @Test func ownedListsEveryCityAndStatusButRemoved() async throws {
        try await withStore { store in
            let owner = UUID()
            let here = try await add(store, owner: owner)
            let there = try await add(store, city: "paris", owner: owner)
            let riding = try await add(store, city: "seattle", owner: owner)
            _ = try await store.reserve(vehicleID: riding.id, rideID: UUID())
            let gone = try await add(store, owner: owner)
            _ = try await store.remove(id: gone.id, ownerID: owner)
            try await add(store)

            let ids = try await walk(limit: 2) { try await store.listOwned(ownerID: owner, limit: 2, after: $0) }
            #expect(ids == [here.id, there.id, riding.id])
            #expect(try await store.listOwned(ownerID: UUID(), limit: 5, after: nil).vehicles.isEmpty)
        }
    }

    @Test func addNormalizesTheCityAndDerivesItsRegion() async throws {
        try await withStore { store in
            let vehicle = try await add(store, city: "  New   York ")
            #expect(vehicle.city == "new york" && vehicle.region == "us-east1")
            #expect(vehicle.status == .available && vehicle.battery == 90)
            #expect(try await add(store, city: "Paris").region == "europe-west1")
        }
    }

    @Test func aRefusedRemovalChangesNothingAndARepeatedOneReturnsTheVehicle() async throws {
        try await withStore { store in
            let owner = UUID()
            let vehicle = try await add(store, owner: owner)
            await #expect(throws: VehiclesError.notVehicleOwner) { try await store.remove(id: vehicle.id, ownerID: UUID()) }
            #expect(try await store.get(id: vehicle.id)?.status == .available)
            let removed = try await store.remove(id: vehicle.id, ownerID: owner)
            #expect(removed.status == .removed)
            #expect(try await store.remove(id: vehicle.id, ownerID: owner) == removed)
            #expect(try await store.listAvailable(city: "boston", limit: 10, after: nil).vehicles.isEmpty)
        }
    }

    @Test func releaseFreesTheVehicleOfItsRideOnly() async throws {
        try await withStore { store in
            let vehicle = try await add(store)
            let ride = UUID()
            let held = try await store.reserve(vehicleID: vehicle.id, rideID: ride, riderID: UUID())
            #expect(held.status == .inUse)
            #expect(try await store.reservations().map(\.rideID) == [ride])

            // Releasing for another ride changes nothing.
            let other = try await store.release(ReleaseVehicleParams(vehicleID: vehicle.id, rideID: UUID(),
                                                                     location: Location(latitude: 1, longitude: 1), battery: 1))
            #expect(other.status == .inUse && other.battery == 90)

            let end = Location(latitude: 42.37, longitude: -71.1)
            let freed = try await store.release(ReleaseVehicleParams(vehicleID: vehicle.id, rideID: ride, location: end, battery: 55))
            #expect(freed.status == .available && freed.location == end && freed.battery == 55)
            // Again (a retry): the vehicle as it is.
            #expect(try await store.release(ReleaseVehicleParams(vehicleID: vehicle.id, rideID: ride, location: nil, battery: nil))
                    == freed)
            #expect(try await store.reservations().isEmpty)
            await #expect(throws: VehiclesError.vehicleNotFound) {
                try await store.release(ReleaseVehicleParams(vehicleID: UUID(), rideID: ride, location: nil, battery: nil))
            }
            // Free again: another ride may take it.
            #expect(try await store.reserve(vehicleID: vehicle.id, rideID: UUID()).status == .inUse)
        }
    }

    @Test func positionsAreRecordedOnlyDuringTheRide() async throws {
        try await withStore { store in
            let vehicle = try await add(store)
            let ride = UUID()
            let moved = Location(latitude: 42.4, longitude: -71.0)
            await #expect(throws: VehiclesError.rideNotActive) {
                try await store.recordLocation(RecordVehicleLocationParams(vehicleID: vehicle.id, rideID: ride, location: moved))
            }
            _ = try await store.reserve(vehicleID: vehicle.id, rideID: ride)
            try await store.recordLocation(RecordVehicleLocationParams(vehicleID: vehicle.id, rideID: ride, location: moved))
            // The public position stays where the ride started.
            #expect(try await store.get(id: vehicle.id)?.location == vehicle.location)
        }
    }

    /// The owner sees every position but those of someone else's ride in progress; the rider
    /// sees only their ride's, and only while it lasts; anyone else nothing.
    @Test func locationHistoryIsScopedToOwnerAndRiderDuringAndAfterARide() async throws {
        try await withStore { store in
            let owner = UUID()
            let rider = UUID()
            let vehicle = try await add(store, owner: owner)
            let ride = UUID()
            _ = try await store.reserve(vehicleID: vehicle.id, rideID: ride, riderID: rider)
            let moved = Location(latitude: 42.4, longitude: -71.0)
            try await store.recordLocation(RecordVehicleLocationParams(vehicleID: vehicle.id, rideID: ride, location: moved))

            func history(_ viewer: UUID, limit: Int = 10) async throws -> [LocationRecord]? {
                guard case .records(let records) = try await store.locationHistory(id: vehicle.id, limit: limit, viewerID: viewer)
                else { return nil }
                return records
            }
            let riderView = try #require(try await history(rider))
            #expect(riderView.count == 2 && riderView.allSatisfy { $0.rideID == ride })
            #expect(riderView.first?.latitude == moved.latitude)
            let ownerView = try #require(try await history(owner))
            #expect(ownerView.count == 1 && ownerView.first?.rideID == nil)
            #expect(try await store.locationHistory(id: vehicle.id, limit: 10, viewerID: UUID()) == .forbidden)

            _ = try await store.release(ReleaseVehicleParams(vehicleID: vehicle.id, rideID: ride,
                                                             location: Location(latitude: 42.5, longitude: -71.0), battery: nil))
            #expect(try await store.locationHistory(id: vehicle.id, limit: 10, viewerID: rider) == .forbidden)
            let after = try #require(try await history(owner))
            #expect(after.count == 4)
            #expect(after.first?.latitude == 42.5 && after.first?.rideID == ride)
            #expect(try await history(owner, limit: 2)?.count == 2)
        }
    }
}
