import Logging
import MovRLocality
@testable import MovRPostgres
import MovRService
import MovRServiceDatabase
import MovRVehicles
import ServiceLifecycle
import Testing

/// The service built from what it uses, no runtime: nothing starts until `prepare()`.
@Suite struct VehiclesServiceLifecycleTests {
    static let logger = Logger(label: "movr.test.vehicles-lifecycle")

    /// A database client whose server is never there (port 1), and its regional reads.
    static func unreachableDatabase() -> (PostgresClient, RegionalReads) {
        let database = PostgresClient(
            configuration: PostgresConfiguration(url: "postgresql://movr_vehicles@127.0.0.1:1/none?connect_timeout=2"),
            logger: logger)
        return (database, RegionalReads(primary: database, replica: nil, maxLag: .seconds(2), reportsWritePosition: false,
                                        logger: logger))
    }

    @Test func builtFromItsDependenciesStartsNothingUntilPrepared() async throws {
        let (database, reads) = Self.unreachableDatabase()
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

    /// Run as members of a service group (as `ServiceMain` runs them), the database clients stop
    /// when the group shuts down.
    @Test func theServiceGroupStopsItsDatabaseClients() async throws {
        let (database, reads) = Self.unreachableDatabase()
        let service = try VehiclesService(database: database, reads: reads, locality: try Locality.loadDefault())
        #expect(service.resources.count == 1)
        let group = ServiceGroup(services: service.resources, logger: Self.logger)
        let running = Task { try await group.run() }
        while !database.threadsStarted { try await Task.sleep(for: .milliseconds(10)) }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!database.threadsStarted)
    }
}
