import Logging
import MovRLocality
@testable import MovRPostgres
import MovRService
import MovRServiceDatabase
import MovRVehicles
import Testing

/// The service built from what it uses, no runtime: nothing starts until `prepare()`.
@Suite struct VehiclesServiceLifecycleTests {
    @Test func builtFromItsDependenciesStartsNothingUntilPrepared() async throws {
        let logger = Logger(label: "movr.test.vehicles-lifecycle")
        let database = PostgresClient(
            configuration: PostgresConfiguration(url: "postgresql://movr_vehicles@127.0.0.1:1/none?connect_timeout=2"),
            logger: logger)
        let reads = RegionalReads(primary: database, replica: nil, maxLag: .seconds(2), reportsWritePosition: false,
                                  logger: logger)
        let service = try VehiclesService(database: database, reads: reads, locality: try Locality.loadDefault())
        #expect(!database.threadsStarted)
        // Follower reads need CockroachDB: refused when built, whatever the database's state.
        #expect(throws: ConfigurationError.self) {
            try VehiclesService(database: database, reads: reads, locality: try Locality.loadDefault(), followerReads: true)
        }
        await #expect(throws: (any Error).self) { try await service.prepare() }
        #expect(database.threadsStarted)
        await service.shutdown()
        #expect(!database.threadsStarted)
    }
}
