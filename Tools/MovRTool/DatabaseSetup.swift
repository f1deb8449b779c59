import Foundation
import Logging
import MovRPostgres
import MovRRides
import MovRService
import MovRUsers
import MovRVehicles

/// The services that own a database, with their migrations.
public enum OwnedDatabase: String, CaseIterable, Sendable {
    case users, vehicles, rides

    /// Database and role name: `movr_users`, ...
    public var name: String { "movr_\(rawValue)" }

    public var migrations: [Migration] {
        switch self {
        case .users: return UsersSchema.migrations
        case .vehicles: return VehiclesSchema.migrations
        case .rides: return RidesSchema.migrations
        }
    }

    public var identity: ServiceIdentity {
        switch self {
        case .users: return .users
        case .vehicles: return .vehicles
        case .rides: return .rides
        }
    }
}

/// Creates one database and one login role per service in a PostgreSQL cluster, so no service
/// can read another's tables, and applies each service's migrations as that role.
public enum DatabaseSetup {
    /// `postgresql://user@host:port/db` URL for `database` on the cluster behind `superuserURL`,
    /// logging in as the service's own role.
    public static func serviceURL(superuserURL: String, database: OwnedDatabase) -> String {
        if let multiHost = multiHostServiceURL(superuserURL: superuserURL, database: database) { return multiHost }
        guard var components = URLComponents(string: superuserURL) else { return superuserURL }
        components.user = database.name
        components.password = nil
        components.path = "/\(database.name)"
        return components.string ?? superuserURL
    }

    /// `postgresql://root@h1:26257,h2:26257/defaultdb?x=y` -> the service's role and database on
    /// the same hosts with the same query (URLComponents cannot parse a host list); nil when the
    /// URL names one host.
    static func multiHostServiceURL(superuserURL: String, database: OwnedDatabase) -> String? {
        guard let schemeEnd = superuserURL.range(of: "://") else { return nil }
        let rest = superuserURL[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let hosts = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority
        guard hosts.contains(",") else { return nil }
        let query = rest[authorityEnd...].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            .dropFirst().first.map { "?" + $0 } ?? ""
        return superuserURL[..<schemeEnd.upperBound] + "\(database.name)@\(hosts)/\(database.name)\(query)"
    }

    /// Idempotent: creates what is missing.
    public static func createDatabases(superuserURL: String, logger: Logger) async throws {
        let admin = PostgresClient(configuration: PostgresConfiguration(url: superuserURL), logger: logger)
        do {
            for database in OwnedDatabase.allCases {
                let name = database.name
                let roleExists = try await admin.query("SELECT 1 FROM pg_roles WHERE rolname = \(name)")
                if roleExists.isEmpty {
                    // Identifiers cannot be bound; `name` is one of three constants above.
                    _ = try await admin.query("CREATE ROLE \(unsafeSQL: name) LOGIN")
                }
                let databaseExists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = \(name)")
                if databaseExists.isEmpty {
                    _ = try await admin.query("CREATE DATABASE \(unsafeSQL: name) OWNER \(unsafeSQL: name) ENCODING 'UTF8'")
                }
                _ = try await admin.query("REVOKE ALL ON DATABASE \(unsafeSQL: name) FROM PUBLIC")
                _ = try await admin.query("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE \(unsafeSQL: name) TO \(unsafeSQL: name)")
            }
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
    }

    /// Applies every service's migrations; returns the newly applied versions per database.
    @discardableResult
    public static func migrate(superuserURL: String, logger: Logger) async throws -> [String: [Int]] {
        var applied: [String: [Int]] = [:]
        for database in OwnedDatabase.allCases {
            let client = PostgresClient(
                configuration: PostgresConfiguration(url: serviceURL(superuserURL: superuserURL, database: database)),
                logger: logger)
            do {
                applied[database.name] = try await Migrator(client: client).apply(database.migrations)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
        return applied
    }
}
