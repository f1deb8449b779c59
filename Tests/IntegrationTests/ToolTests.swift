import Foundation
import MovRAPI
import MovRRPC
import Testing

/// The operator's `movr` commands against the running stack.
@Suite struct ToolTests {
    @Test func grantAdminLetsAUserCreatePromoCodes() async throws {
        let domain = try await Domain.connect()
        let user = try await domain.newUser()
        let create = PromoCodesCreateParams(code: "TOOL\(UUID().uuidString.prefix(6).uppercased())", description: "tool",
                                            percentOff: 5, expiresAt: RFC3339.string(from: Date().addingTimeInterval(600)))
        await expectRPCError(403, reason: "admin_required") {
            try await domain.call("promo_codes.create", create, as: PromoCodeResult.self, as: user)
        }
        let stackPath = await LocalStackHarness.shared.stackPath
        let (status, output) = try await LocalStackHarness.runTool(["grant-admin", user.user.username, "--stack", stackPath])
        #expect(status == 0, "\(output)")
        #expect(output.contains("is now an admin"))
        _ = try await domain.call("promo_codes.create", create, as: PromoCodeResult.self, as: user)
        await domain.shutdown()
    }

    @Test func checkCommandReportsTheInvariants() async throws {
        let domain = try await Domain.connect()
        let (status, output) = try await LocalStackHarness.runTool(
            ["check", "--database-url", domain.stack.databaseURL, "--bound", "15", "--wait", "20"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("OK: every invariant holds"))
        await domain.shutdown()
    }

    /// `movr health` (the containers' health check) answers from /readyz over the service's own
    /// mutual TLS, and fails when the identity does not match the server it reaches.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil,
                   "needs the local stack's certificate directory"))
    func healthCommandAsksReadinessOverTheServicesOwnTLS() async throws {
        let domain = try await Domain.connect()
        let certs = await LocalStackHarness.shared.directory + "/certs"
        let users = try domain.stack.topology.url(of: .users, in: domain.stack.primaryRegion)
        let gateway = try domain.stack.topology.url(of: .gateway, in: domain.stack.primaryRegion)
        var (status, output) = try await LocalStackHarness.runTool(["health", "users", "--url", users, "--certs-dir", certs])
        #expect(status == 0, "\(output)")
        #expect(output.contains("users: ready"))
        (status, output) = try await LocalStackHarness.runTool(["health", "gateway", "--url", gateway, "--certs-dir", certs])
        #expect(status == 0, "\(output)")
        // The vehicles identity expects vehicles.movr.internal; the users service is not it.
        (status, output) = try await LocalStackHarness.runTool(["health", "vehicles", "--url", users, "--certs-dir", certs])
        #expect(status == 1, "\(output)")
        #expect(output.contains("unreachable"))
        (status, output) = try await LocalStackHarness.runTool(["health", "operator"])
        #expect(status != 0, "\(output)")
        await domain.shutdown()
    }

    @Test func moreErrorReasonsThroughTheGateway() async throws {
        let domain = try await Domain.connect()
        let rider = try await domain.newUser()
        let vehicle = try await domain.newVehicle(owner: rider)
        await expectRPCError(401, reason: "missing_token") {
            try await domain.call("auth.logout", EmptyObject(), as: EmptyObject.self)
        }
        await expectRPCError(404, reason: "vehicle_not_found") {
            try await domain.call("vehicles.location_history", LocationHistoryParams(id: UUID()), as: LocationHistoryResult.self,
                                  as: rider)
        }
        await expectRPCError(404, reason: "vehicle_not_found") {
            try await domain.call("vehicles.remove", VehiclesRemoveParams(id: UUID()), as: VehicleResult.self, as: rider)
        }
        let ride = try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id), as: RideResult.self,
                                         as: rider, city: "new york").ride
        let end = Location(latitude: 40.71, longitude: -74.0)
        _ = try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: end), as: RideResult.self, as: rider)
        await expectRPCError(409, reason: "ride_already_ended") {
            try await domain.call("rides.update_location", RidesUpdateLocationParams(rideID: ride.id, location: end),
                                  as: EmptyObject.self, as: rider)
        }
        await expectRPCError(-32602, field: "limit") {
            try await domain.call("rides.list", RidesListParams(limit: 101), as: RidesListResult.self, as: rider)
        }
        await expectRPCError(-32602, field: "cursor") {
            try await domain.call("vehicles.list", VehiclesListParams(city: "boston", cursor: "not-a-cursor"),
                                  as: VehiclesListResult.self)
        }
        try await domain.expectInvariants()
        await domain.shutdown()
    }
}
