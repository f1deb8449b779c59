import Foundation
import MovRLocality

/// The CockroachDB form of each service database (DESIGN §6): a multi-region database whose
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

    static let regionalTables: [OwnedDatabase: [String]] = [
        .users: ["users", "sessions"],
        .vehicles: ["vehicles", "vehicle_location_histories"],
        .rides: ["rides", "ride_locations", "user_promo_codes", "outbox", "ride_tombstones"],
    ]
    static let globalTables: [OwnedDatabase: [String]] = [
        .rides: ["promo_codes"],
    ]

    public static func ddl(for database: OwnedDatabase, locality: Locality, survival: SurvivalGoal = .zone) -> String {
        let primary = locality.primaryRegion
        let others = locality.regions.map(\.name).filter { $0 != primary }
        var lines: [String] = []
        lines.append("CREATE DATABASE \(database.name) PRIMARY REGION \"\(primary)\""
            + (others.isEmpty ? "" : " REGIONS " + others.map { "\"\($0)\"" }.joined(separator: ", "))
            + " SURVIVE \(survival.rawValue.uppercased()) FAILURE;")
        lines.append("USE \(database.name);")
        for migration in database.migrations {
            lines.append("-- migration \(migration.version): \(migration.name)")
            lines.append(migration.sql)
        }
        let regionCase = regionExpression(locality: locality)
        for table in regionalTables[database] ?? [] {
            lines.append("""
                ALTER TABLE \(table) ADD COLUMN crdb_region crdb_internal_region NOT VISIBLE NOT NULL
                    AS (\(regionCase)) STORED;
                ALTER TABLE \(table) SET LOCALITY REGIONAL BY ROW AS crdb_region;
                """)
        }
        for table in globalTables[database] ?? [] {
            lines.append("ALTER TABLE \(table) SET LOCALITY GLOBAL;")
        }
        return lines.joined(separator: "\n")
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
