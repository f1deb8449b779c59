import Foundation
import MovRLocality
import MovRPostgres

/// `movr migrate --print`: the DDL each service applies, per dialect.
public enum SchemaPrinter {
    public static func ddl(dialect: SQLDialect, locality: Locality,
                           survival: CockroachSchema.SurvivalGoal = .zone,
                           plan: CockroachSchema.RegionPlan? = nil, hosts: [String] = []) throws -> String {
        var out: [String] = []
        for database in OwnedDatabase.allCases {
            out.append("-- database \(database.name) (owned by role \(database.name))")
            if dialect == .cockroach, !hosts.isEmpty {
                out.append("-- MOVR_DATABASE_URL of the \(database.rawValue) service: "
                           + (try CockroachSchema.multiHostURL(hosts: hosts, database: database)))
            }
            switch dialect {
            case .postgres:
                out.append("CREATE DATABASE \(database.name) OWNER \(database.name);")
                for migration in database.migrations {
                    out.append("-- migration \(migration.version): \(migration.name)")
                    out.append(migration.sql)
                }
            case .cockroach:
                out.append(CockroachSchema.ddl(for: database, locality: locality, survival: survival, plan: plan))
            }
            out.append("")
        }
        return out.joined(separator: "\n")
    }
}
