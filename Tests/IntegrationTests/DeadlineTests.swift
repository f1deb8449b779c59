import Foundation
import MovRAPI
import MovRPostgres
import MovRRPC
import Testing

/// A service stops a call's work at the call's deadline, also while its statement waits on the
/// server: the statement is cancelled there, so nothing the caller was told failed (504) is
/// written afterwards, and the service's database connection is free again at once.
@Suite struct DeadlineTests {
    @Test func aWriteWaitingForARowLockIsCancelledAtItsDeadlineAndNeverLands() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser(prefix: "deadline")
        let vehicle = try await domain.newVehicle(owner: owner)

        // Another session holds the vehicle's row lock, as a long transaction would.
        var url = try #require(URLComponents(string: domain.stack.databaseURL))
        url.path = "/movr_vehicles"
        let admin = PostgresClient(configuration: PostgresConfiguration(url: try #require(url.string), poolSize: 2),
                                   logger: Domain.logger)
        // Statements blocked by the holder's session (not any other test's locks).
        func blockedBy(_ holder: Int) async throws -> Int {
            try await admin.query("""
                SELECT count(*) AS n FROM pg_stat_activity WHERE CAST(\(holder) AS int) = ANY(pg_blocking_pids(pid))
                """).first!.decode("n", as: Int.self)
        }
        do {
            try await admin.withConnection { holder in
                try await holder.execute("BEGIN")
                _ = try await holder.query("SELECT 1 FROM vehicles WHERE id = \(vehicle.id) FOR UPDATE")
                let holderPID = try await holder.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
                do {
                    // vehicles.remove updates that row: its statement waits for the lock until the
                    // 2 s the caller allows are over.
                    let called = ContinuousClock.now
                    await expectRPCError(504) {
                        try await domain.api.call("vehicles.remove", VehiclesRemoveParams(id: vehicle.id), as: VehicleResult.self,
                                                  token: owner.token, city: "new york",
                                                  headers: [("x-movr-deadline-ms", "2000")])
                    }
                    #expect(ContinuousClock.now - called < .seconds(20))
                    // The service cancelled its statement at the server, while the lock is still
                    // held (without cancellation it would wait for as long as the lock is held).
                    let deadline = ContinuousClock.now + .seconds(30)
                    var waiting = try await blockedBy(holderPID)
                    while waiting > 0, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(50))
                        waiting = try await blockedBy(holderPID)
                    }
                    #expect(waiting == 0, "the vehicles service's statement still waits for the lock after its deadline")
                } catch {
                    _ = try? await holder.execute("ROLLBACK")
                    throw error
                }
                try await holder.execute("ROLLBACK")
            }
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()

        // The lock is gone and the cancelled removal did not land: the vehicle is still there,
        // and removing it now works.
        try await Task.sleep(for: .milliseconds(300))
        let after = try await domain.call("vehicles.get", VehiclesGetParams(id: vehicle.id), as: VehicleResult.self).vehicle
        #expect(after.status == .available)
        let removed = try await domain.call("vehicles.remove", VehiclesRemoveParams(id: vehicle.id), as: VehicleResult.self, as: owner,
                                  city: "new york").vehicle
        #expect(removed.status == .removed)
        await domain.shutdown()
    }
}
