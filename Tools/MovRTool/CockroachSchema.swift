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

    /// Tables homed in their city's region (computed from the `city` column), by database; each
    /// service's schema names its own (`*Schema.cockroachLocalities`).
    static var regionalTables: [OwnedDatabase: [String]] { gather(\.byCity) }
    /// Tables without a city: rows live in the region of the node that inserted them (the
    /// default `crdb_region` is the gateway region), i.e. where the request was served.
    static var insertRegionTables: [OwnedDatabase: [String]] { gather(\.byInsertRegion) }
    static var globalTables: [OwnedDatabase: [String]] { gather(\.global) }

    private static func gather(_ kind: KeyPath<OwnedDatabase.Localities, [String]>) -> [OwnedDatabase: [String]] {
        Dictionary(uniqueKeysWithValues: OwnedDatabase.allCases.map { ($0, $0.cockroachLocalities[keyPath: kind]) })
    }

    /// The database regions: `--regions` / `--primary-region`, by default the locality map's.
    public struct RegionPlan: Sendable, Equatable {
        public let primary: String
        /// Every region, primary first.
        public let regions: [String]

        public init(locality: Locality) {
            primary = locality.primaryRegion
            regions = [locality.primaryRegion] + locality.regions.map(\.name).filter { $0 != locality.primaryRegion }
        }

        /// Validates explicit choices: known regions, no duplicates, the primary among them.
        public init(locality: Locality, regions explicit: [String]?, primary explicitPrimary: String?) throws {
            let defaults = RegionPlan(locality: locality)
            let chosen = explicit?.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? defaults.regions
            let primary = explicitPrimary?.trimmingCharacters(in: .whitespaces).lowercased()
                ?? (chosen.contains(defaults.primary) ? defaults.primary : chosen.first ?? defaults.primary)
            guard !chosen.isEmpty else { throw StackError("--regions must name at least one region") }
            for region in chosen where locality.region(named: region) == nil {
                throw StackError("--regions: \(region) is not a region of the locality map (\(defaults.regions.joined(separator: ", ")))")
            }
            guard Set(chosen).count == chosen.count else { throw StackError("--regions lists a region twice") }
            guard chosen.contains(primary) else {
                throw StackError("--primary-region \(primary) must be one of --regions (\(chosen.joined(separator: ", ")))")
            }
            self.primary = primary
            self.regions = [primary] + chosen.filter { $0 != primary }
        }

        /// Where a city's rows live: its own region when the database has it, else the primary.
        func home(of city: City) -> String {
            regions.contains(city.region) ? city.region : primary
        }
    }

    public static func ddl(for database: OwnedDatabase, locality: Locality, survival: SurvivalGoal = .zone,
                           plan: RegionPlan? = nil) -> String {
        let plan = plan ?? RegionPlan(locality: locality)
        var lines = [createDatabase(database, plan: plan, survival: survival), "USE \(database.name);"]
        let unhomed = locality.cities.filter { !plan.regions.contains($0.region) }.map(\.name)
        if !unhomed.isEmpty {
            lines.append("-- not a database region: rows of \(unhomed.joined(separator: ", ")) live in \(plan.primary)")
        }
        for migration in migrations(for: database, locality: locality, plan: plan) {
            lines.append("-- migration \(migration.version): \(migration.name)")
            lines.append(migration.sql)
        }
        return lines.joined(separator: "\n")
    }

    /// The multi-region database, its role (the service's login), and the role's right to create
    /// its own tables; run as root. Idempotent.
    public static func createDatabase(_ database: OwnedDatabase, plan: RegionPlan, survival: SurvivalGoal) -> String {
        let primary = plan.primary
        let others = Array(plan.regions.dropFirst())
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
    public static func migrations(for database: OwnedDatabase, locality: Locality, plan: RegionPlan? = nil) -> [Migration] {
        let regionCase = regionExpression(locality: locality, plan: plan)
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
    public static func apply(rootURL: String, locality: Locality, survival: SurvivalGoal, plan: RegionPlan? = nil,
                             logger: Logger) async throws -> [String: [Int]] {
        let plan = plan ?? RegionPlan(locality: locality)
        let root = PostgresClient(configuration: PostgresConfiguration(url: rootURL, poolSize: 1, dialect: .cockroach),
                                  logger: logger)
        do {
            for database in OwnedDatabase.allCases {
                try await root.execute(createDatabase(database, plan: plan, survival: survival))
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
                applied[database.name] = try await Migrator(client: client)
                    .apply(migrations(for: database, locality: locality, plan: plan))
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
    static func regionExpression(locality: Locality, plan: RegionPlan? = nil) -> String {
        let plan = plan ?? RegionPlan(locality: locality)
        var parts = ["CASE"]
        for region in plan.regions where region != plan.primary {
            let cities = locality.cities.filter { plan.home(of: $0) == region }
                .map { "'\($0.name.replacingOccurrences(of: "'", with: "''"))'" }
            guard !cities.isEmpty else { continue }
            parts.append("WHEN city IN (\(cities.joined(separator: ", "))) THEN '\(region)'")
        }
        // The primary's own cities, and any city of a region the database lacks.
        let primaryCities = locality.cities.filter { plan.home(of: $0) == plan.primary }
            .map { "'\($0.name.replacingOccurrences(of: "'", with: "''"))'" }
        if !primaryCities.isEmpty {
            parts.append("WHEN city IN (\(primaryCities.joined(separator: ", "))) THEN '\(plan.primary)'")
        }
        parts.append("ELSE '\(plan.primary)' END")
        return parts.joined(separator: " ")
    }

    /// A libpq URL naming several nodes (`host1:26257,host2:26257`): libpq tries them in order
    /// and `target_session_attrs=read-write` skips a node that cannot take writes, so a service
    /// fails over to the next node when one is down. Put the service's own region's nodes first.
    public static func multiHostURL(hosts: [String], database: OwnedDatabase, sslMode: String = "verify-full") throws -> String {
        guard !hosts.isEmpty else { throw StackError("--hosts needs at least one host:port") }
        for host in hosts {
            let parts = host.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port),
                  parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) else {
                throw StackError("host '\(host)' must look like node1.example.com:26257")
            }
        }
        return "postgresql://\(database.name)@\(hosts.joined(separator: ","))/\(database.name)"
            + "?sslmode=\(sslMode)&target_session_attrs=read-write&connect_timeout=5"
    }
}
