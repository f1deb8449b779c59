/// One schema change. `sql` may hold several statements; it runs inside a transaction, so it
/// must not contain transaction control or statements such as `CREATE INDEX CONCURRENTLY`.
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Applies migrations in version order, each in its own transaction, recording them in
/// `schema_migrations(version, name, applied_at)`. Safe to run concurrently from several
/// processes (PostgreSQL: a transaction-scoped advisory lock; CockroachDB: serializable
/// transactions plus the primary key on `version`). Re-running applies nothing.
public struct Migrator: Sendable {
    public let client: PostgresClient

    /// Arbitrary constant that names "MovR schema migrations" among advisory locks.
    static let advisoryLockKey: Int64 = 0x4D6F_5652_4D69_67

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Applies what is missing and returns the versions applied by this call, ascending.
    @discardableResult
    public func apply(_ migrations: [Migration]) async throws -> [Int] {
        let sorted = migrations.sorted { $0.version < $1.version }
        var applied: [Int] = []
        for migration in sorted {
            if try await applyIfNeeded(migration) {
                applied.append(migration.version)
            }
        }
        return applied
    }

    /// Versions recorded in `schema_migrations` (empty if the table does not exist yet).
    public func appliedVersions() async throws -> [Int] {
        let exists = try await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        guard try exists.first?.decode("present", as: Bool.self) == true else { return [] }
        return try await client.query("SELECT version FROM schema_migrations ORDER BY version")
            .map { try $0.decode("version", as: Int.self) }
    }

    private func applyIfNeeded(_ migration: Migration) async throws -> Bool {
        let dialect = client.configuration.dialect
        // PostgreSQL: READ COMMITTED so the "already applied?" check sees commits made while we
        // waited for the lock (a serializable snapshot would be taken before the lock is granted).
        let isolation: IsolationLevel = dialect == .postgres ? .readCommitted : .serializable
        return try await client.withTransaction(isolation: isolation) { connection in
            if dialect == .postgres {
                _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.advisoryLockKey))")
            }
            try await connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """)
            let existing = try await connection.query(
                "SELECT 1 FROM schema_migrations WHERE version = \(migration.version)")
            guard existing.count == 0 else { return false }
            try await connection.execute(migration.sql)
            _ = try await connection.query(
                "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
            return true
        }
    }
}
