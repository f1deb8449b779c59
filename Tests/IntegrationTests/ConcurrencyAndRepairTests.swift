import Foundation
import MovRAPI
import MovRRPC
import Testing

/// Invariants under concurrency and crashes (docs/architecture.md §2), through the real executables.
@Suite(.serialized) struct ConcurrencyAndRepairTests {
    @Test func fiftyRidersRaceForOneVehicleAndExactlyOneWins() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser()
        let vehicle = try await domain.newVehicle(owner: owner)
        // Riders are created a few at a time (sign-in is rate limited per process by design).
        var riders: [SignedInUser] = []
        try await withThrowingTaskGroup(of: [SignedInUser].self) { group in
            for _ in 0..<5 {
                group.addTask {
                    var batch: [SignedInUser] = []
                    for _ in 0..<10 { batch.append(try await domain.newUser(prefix: "race")) }
                    return batch
                }
            }
            for try await batch in group { riders += batch }
        }
        #expect(riders.count == 50)

        let outcomes = await withTaskGroup(of: Result<Ride, RPCError>.self) { group in
            for rider in riders {
                group.addTask {
                    do {
                        return .success(try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id),
                                                              as: RideResult.self, as: rider, city: "new york").ride)
                    } catch let error as RPCError {
                        return .failure(error)
                    } catch {
                        return .failure(RPCError.internalError)
                    }
                }
            }
            var all: [Result<Ride, RPCError>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let winners = outcomes.compactMap { try? $0.get() }
        let losers = outcomes.compactMap { outcome -> RPCError? in
            if case .failure(let error) = outcome { return error }
            return nil
        }
        #expect(winners.count == 1)
        #expect(losers.count == 49)
        #expect(losers.allSatisfy { $0.code == 409 && $0.data?.reason == "vehicle_unavailable" },
                "\(Set(losers.map { "\($0.code) \($0.data?.reason ?? "")" }))")
        let held = try await domain.call("vehicles.get", VehiclesGetParams(id: vehicle.id), as: VehicleResult.self).vehicle
        #expect(held.status == .inUse)
        try await domain.expectInvariants()
        await domain.shutdown()
    }

    @Test func theSameIdempotencyKeySentTwiceConcurrentlyStartsOneRide() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser()
        let rider = try await domain.newUser()
        let vehicle = try await domain.newVehicle(owner: owner)
        let params = RidesStartParams(vehicleID: vehicle.id, idempotencyKey: "start-\(UUID().uuidString.prefix(8))")
        async let first = domain.call("rides.start", params, as: RideResult.self, as: rider, city: "new york")
        async let second = domain.call("rides.start", params, as: RideResult.self, as: rider, city: "new york")
        let (a, b) = try await (first, second)
        #expect(a.ride.id == b.ride.id)
        // A later retry still answers with the same ride.
        let third = try await domain.call("rides.start", params, as: RideResult.self, as: rider, city: "new york")
        #expect(third.ride.id == a.ride.id)
        let list = try await domain.call("rides.list", RidesListParams(), as: RidesListResult.self, as: rider)
        #expect(list.rides.count == 1)
        try await domain.expectInvariants()
        await domain.shutdown()
    }

    @Test func aRidesServiceKilledBetweenReserveAndRecordIsRepaired() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser()
        let rider = try await domain.newUser()
        let vehicle = try await domain.newVehicle(owner: owner)

        // The next rides.start in any rides process dies (SIGKILL) right after reserving.
        try await LocalStackHarness.shared.armFault("rides.start.after_reserve")
        do {
            _ = try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id, idempotencyKey: "crash-1"),
                                      as: RideResult.self, as: rider, city: "new york")
            Issue.record("rides.start succeeded although the rides service was killed mid-way")
        } catch let error as RPCError {
            #expect(error.code == 503 || error.code == 504, "\(error)")
        }
        // Right after the crash the vehicle is held by a ride nobody recorded.
        let orphaned = try await domain.call("vehicles.get", VehiclesGetParams(id: vehicle.id), as: VehicleResult.self).vehicle
        #expect(orphaned.status == .inUse)

        // The restarted service's reconciler frees it within the documented bound
        // (grace 5 s + pass interval 2 s; we allow 30 s on a loaded machine).
        let deadline = ContinuousClock.now + .seconds(30)
        var status = orphaned.status
        while status != .available, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            status = try await domain.call("vehicles.get", VehiclesGetParams(id: vehicle.id), as: VehicleResult.self).vehicle.status
        }
        #expect(status == .available)
        try await domain.expectInvariants()

        // The system works on: the same rider can ride the same vehicle with a new key.
        let ride = try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id, idempotencyKey: "after-crash"),
                                         as: RideResult.self, as: rider, city: "new york").ride
        _ = try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: Location(latitude: 40.7, longitude: -74)),
                                  as: RideResult.self, as: rider)
        try await domain.expectInvariants()
        await domain.shutdown()
    }
}
