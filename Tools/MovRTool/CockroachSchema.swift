import Foundation
import Logging
import MovRLocality
import MovRPostgres

/// The CockroachDB form of each service database (docs/architecture.md §6): a multi-region database whose
/// regions are the locality map's, the same tables as PostgreSQL, then every table that carries
/// a city made REGIONAL BY ROW with its region computed from the city, and reference tables GLOBAL.
///
/// Written from CockroachDB's documented SQL (multi-region overview, ALTER TABLE ... SET LOCALITY,
/// computed columns); it has not been run against a CockroachDB cluster here (none can be installed).
public enum CockroachSchema {
    /// Survival goal: `zone` (default) or `region` (needs 3+ regions).
    public enum SurvivalGoal: String, Sendable {
        case zone, region
    }

    /// Tables homed in their city's region (computed from the `city` column).
    static let regionalTables: [OwnedDatabase: [String]] = [
        .users: ["users"],
        .vehicles: ["vehicles", "vehicle_location_histories"],
        .rides: ["rides", "ride_locations"],
    ]
    /// Tables without a city: rows live in the region of the node that inserted them (the
    /// default `crdb_region` is the gateway region), i.e. where the request was served.
    static let insertRegionTables: [OwnedDatabase: [String]] = [
        .users: ["sessions"],
        .rides: ["ride_claims", "user_promo_codes", "outbox"],
    ]
    static let globalTables: [OwnedDatabase: [String]] = [
        .rides: ["promo_codes"],
    ]

    public static func ddl(for database: OwnedDatabase, locality: Locality, survival: SurvivalGoal = .zone) -> String {
        var lines = [createDatabase(database, locality: locality, survival: survival), "USE \(database.name);"]
        for migration in migrations(for: database, locality: locality) {
            lines.append("-- migration \(migration.version): \(migration.name)")
            lines.append(migration.sql)
        }
        return lines.joined(separator: "\n")
    }

    /// The multi-region database, its role (the service's login), and the role's right to create
    /// its own tables; run as root. Idempotent.
    public static func createDatabase(_ database: OwnedDatabase, locality: Locality, survival: SurvivalGoal) -> String {
        let primary = locality.primaryRegion
        let others = locality.regions.map(\.name).filter { $0 != primary }
        return """
            CREATE DATABASE IF NOT EXISTS \(database.name) PRIMARY REGION "\(primary)"\(
                others.isEmpty ? "" : " REGIONS " + others.map { "\"\($0)\"" }.joined(separator: ", "));
            ALTER DATABASE \(database.name) SURVIVE \(survival.rawValue.uppercased()) FAILURE;
            CREATE USER IF NOT EXISTS \(database.name);
            GRANT ALL ON DATABASE \(database.name) TO \(database.name);
            """
    }

    /// The service's own migrations, then one that sets every table's locality. Applied by the
    /// Migrator as the service's role, like on PostgreSQL.
    public static func migrations(for database: OwnedDatabase, locality: Locality) -> [Migration] {
        let regionCase = regionExpression(locality: locality)
        var statements: [String] = []
        for table in regionalTables[database] ?? [] {
            statements.append("""
                ALTER TABLE \(table) ADD COLUMN crdb_region crdb_internal_region NOT VISIBLE NOT NULL
                    AS (\(regionCase)) STORED;
                ALTER TABLE \(table) SET LOCALITY REGIONAL BY ROW AS crdb_region;
                """)
        }
        for table in insertRegionTables[database] ?? [] {
            statements.append("ALTER TABLE \(table) SET LOCALITY REGIONAL BY ROW;")
        }
        for table in globalTables[database] ?? [] {
            statements.append("ALTER TABLE \(table) SET LOCALITY GLOBAL;")
        }
        return database.migrations + [Migration(version: 1000, name: "multi-region localities",
                                                sql: statements.joined(separator: "\n"))]
    }

    /// `movr migrate --dialect cockroach`: databases, roles, migrations and localities.
    public static func apply(rootURL: String, locality: Locality, survival: SurvivalGoal, logger: Logger) async throws -> [String: [Int]] {
        let root = PostgresClient(configuration: PostgresConfiguration(url: rootURL, poolSize: 1, dialect: .cockroach),
                                  logger: logger)
        do {
            for database in OwnedDatabase.allCases {
                try await root.execute(createDatabase(database, locality: locality, survival: survival))
            }
        } catch {
            await root.shutdown()
            throw error
        }
        await root.shutdown()
        var applied: [String: [Int]] = [:]
        for database in OwnedDatabase.allCases {
            var settings = PostgresConfiguration(url: DatabaseSetup.serviceURL(superuserURL: rootURL, database: database))
            settings.dialect = .cockroach
            let client = PostgresClient(configuration: settings, logger: logger)
            do {
                applied[database.name] = try await Migrator(client: client).apply(migrations(for: database, locality: locality))
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
        return applied
    }

    /// `CASE city WHEN 'new york' THEN 'us-east1' ... END`, from the locality map; cities added to
    /// the map later need this column's expression re-created (documented in docs/operations.md).
    static func regionExpression(locality: Locality) -> String {
        var parts = ["CASE"]
        for region in locality.regions {
            let cities = locality.cities.filter { $0.region == region.name }.map { "'\($0.name.replacingOccurrences(of: "'", with: "''"))'" }
            guard !cities.isEmpty else { continue }
            parts.append("WHEN city IN (\(cities.joined(separator: ", "))) THEN '\(region.name)'")
        }
        parts.append("ELSE '\(locality.primaryRegion)' END")
        return parts.joined(separator: " ")
    }
}
