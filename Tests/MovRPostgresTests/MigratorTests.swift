import Foundation
import MovRPostgres
import MovRTestSupport
import Testing

@Suite struct MigratorTests {
    static let migrations = [
        Migration(version: 1, name: "create_cities", sql: """
            CREATE TABLE cities (name text PRIMARY KEY, region text NOT NULL);
            CREATE INDEX cities_region ON cities (region);
            """),
        Migration(version: 3, name: "seed_city", sql: "INSERT INTO cities VALUES ('amsterdam', 'europe-west1')"),
        Migration(version: 2, name: "add_population", sql: "ALTER TABLE cities ADD COLUMN population bigint"),
    ]

    @Test func applyingTwiceAppliesNothingTheSecondTime() async throws {
        try await TestPostgres.withClient { client in
            let migrator = Migrator(client: client)
            #expect(try await migrator.appliedVersions() == [])
            #expect(try await migrator.apply(Self.migrations) == [1, 2, 3])
            #expect(try await migrator.apply(Self.migrations) == [])
            #expect(try await migrator.appliedVersions() == [1, 2, 3])
            let rows = try await client.query("SELECT count(*) AS n FROM cities")
            #expect(try rows.first?.decode("n", as: Int.self) == 1)
            let recorded = try await client.query("SELECT name, applied_at FROM schema_migrations ORDER BY version")
            #expect(try recorded.map { try $0.decode("name", as: String.self) } == ["create_cities", "add_population", "seed_city"])
            _ = try recorded.first?.decode("applied_at", as: Date.self)
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        let url = try await TestPostgres.createDatabase()
        let clients = (0..<3).map { _ in
            PostgresClient(configuration: PostgresConfiguration(url: url, poolSize: 2, connectTimeoutSeconds: 20), logger: TestPostgres.logger)
        }
        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
            for client in clients {
                group.addTask { try await Migrator(client: client).apply(Self.migrations) }
            }
            return try await group.reduce(into: [[Int]]()) { $0.append($1) }
        }
        #expect(results.flatMap { $0 }.sorted() == [1, 2, 3])
        let rows = try await clients[0].query("SELECT count(*) AS n FROM cities")
        #expect(try rows.first?.decode("n", as: Int.self) == 1)
        let versions = try await clients[0].query("SELECT count(*) AS n FROM schema_migrations")
        #expect(try versions.first?.decode("n", as: Int.self) == 3)
        for client in clients { await client.shutdown() }
    }

    @Test func failingMigrationLeavesNoTrace() async throws {
        try await TestPostgres.withClient { client in
            let migrator = Migrator(client: client)
            let broken = [Migration(version: 1, name: "broken", sql: "CREATE TABLE half (id int); SELECT * FROM missing_table")]
            await #expect(throws: PostgresError.self) { try await migrator.apply(broken) }
            #expect(try await migrator.appliedVersions() == [])
            let table = try await client.query("SELECT to_regclass('half') IS NULL AS absent")
            #expect(try table.first?.decode("absent", as: Bool.self) == true)
        }
    }
}
