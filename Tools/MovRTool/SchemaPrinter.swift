import Foundation
import MovRLocality
import MovRPostgres

/// `movr migrate --print`: the DDL each service applies, per dialect.
public enum SchemaPrinter {
    public static func ddl(dialect: SQLDialect, locality: Locality,
                           survival: CockroachSchema.SurvivalGoal = .zone) -> String {
        var out: [String] = []
        for database in OwnedDatabase.allCases {
            out.append("-- database \(database.name) (owned by role \(database.name))")
            switch dialect {
            case .postgres:
                out.append("CREATE DATABASE \(database.name) OWNER \(database.name);")
                for migration in database.migrations {
                    out.append("-- migration \(migration.version): \(migration.name)")
                    out.append(migration.sql)
                }
            case .cockroach:
                out.append(CockroachSchema.ddl(for: database, locality: locality, survival: survival))
            }
            out.append("")
        }
        return out.joined(separator: "\n")
    }
}
