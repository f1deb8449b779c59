import Foundation
import Logging
import MovRAPI
import MovRRPC
import MovRTool
import Testing

/// The walking skeleton end to end: client -> gateway (HTTPS) -> vehicles service (mutual TLS
/// JSON-RPC) -> PostgreSQL, with every process real.
@Suite(.serialized) struct WalkingSkeletonTests {
    static let logger = Logger(label: "movr.test")

    @Test func citiesAndVehiclesAreServedThroughTheGateway() async throws {
        let stack = try await LocalStackHarness.shared.start()
        let client = try stack.gatewayClient(logger: Self.logger)
        defer { Task { await client.shutdown() } }

        let cities = try await client.call("cities.list", EmptyObject(), as: CitiesListResult.self)
        #expect(cities.cities.count == 12)
        #expect(Set(cities.regions) == ["us-east1", "us-central1", "us-west1", "europe-west1"])
        #expect(cities.cities.first { $0.city == "paris" }?.region == "europe-west1")

        let page = try await client.call("vehicles.list", VehiclesListParams(city: "amsterdam", limit: 100),
                                         as: VehiclesListResult.self)
        #expect(page.vehicles.count >= 50)
        #expect(page.vehicles.allSatisfy { $0.city == "amsterdam" && $0.region == "europe-west1" && $0.status == .available })
    }

    @Test func eachRegionsGatewayServesEveryCity() async throws {
        let stack = try await LocalStackHarness.shared.start()
        for region in stack.topology.regions.keys.sorted() {
            let client = try stack.gatewayClient(region: region, logger: Self.logger)
            let page = try await client.call("vehicles.list", VehiclesListParams(city: "seattle", limit: 5),
                                             as: VehiclesListResult.self)
            #expect(page.vehicles.count == 5, "gateway of \(region)")
            #expect(page.nextCursor != nil)
            await client.shutdown()
        }
    }

    @Test func vehicleListPagesDoNotOverlapAndEnd() async throws {
        let stack = try await LocalStackHarness.shared.start()
        let client = try stack.gatewayClient(logger: Self.logger)
        defer { Task { await client.shutdown() } }
        var seen = Set<UUID>()
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await client.call("vehicles.list", VehiclesListParams(city: "rome", limit: 20, cursor: cursor),
                                             as: VehiclesListResult.self)
            for vehicle in page.vehicles { #expect(seen.insert(vehicle.id).inserted) }
            cursor = page.nextCursor
            pages += 1
        } while cursor != nil && pages < 20
        #expect(cursor == nil)
        #expect(seen.count >= 50)
    }
}
