import Foundation
import Logging
import MovRInternalAPI
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
    /// logging in as the service's own role, with the role's own credentials next to the
    /// superuser's: `passfile=<dir>/postgres.pgpass` (what `movr up` writes) becomes
    /// `passfile=<dir>/<role>.pgpass`, and CockroachDB's client certificate files
    /// `sslcert=<dir>/client.root.crt`, `sslkey=<dir>/client.root.key` become
    /// `<dir>/client.<role>.crt` and `.key`.
    public static func serviceURL(superuserURL: String, database: OwnedDatabase) -> String {
        let url: String
        if let multiHost = multiHostServiceURL(superuserURL: superuserURL, database: database) {
            url = multiHost
        } else {
            guard var components = URLComponents(string: superuserURL) else { return superuserURL }
            components.user = database.name
            components.password = nil
            components.path = "/\(database.name)"
            url = components.string ?? superuserURL
        }
        return replacingFileParameters(in: url) { name, value in
            let directory = (value as NSString).deletingLastPathComponent
            let file = (value as NSString).lastPathComponent
            switch name {
            case "passfile":
                return passwordFile(forRole: database.name, nextTo: value)
            case "sslcert" where file.hasPrefix("client.") && file.hasSuffix(".crt"):
                return directory + "/client.\(database.name).crt"
            case "sslkey" where file.hasPrefix("client.") && file.hasSuffix(".key"):
                return directory + "/client.\(database.name).key"
            default:
                return value
            }
        }
    }

    /// `<directory of superuserFile>/<role>.pgpass`.
    public static func passwordFile(forRole role: String, nextTo superuserFile: String) -> String {
        (superuserFile as NSString).deletingLastPathComponent + "/\(role).pgpass"
    }

    /// The `passfile` query parameter of a libpq URL, percent-decoded (nil: none).
    public static func passwordFile(of url: String) -> String? {
        queryItems(of: url).first { $0.hasPrefix("passfile=") }
            .flatMap { $0.dropFirst("passfile=".count).removingPercentEncoding }
    }

    /// `url` with the values of its `passfile`, `sslcert` and `sslkey` parameters mapped by
    /// `transform(name, value)` (percent-decoded, then encoded again).
    public static func replacingFileParameters(in url: String, _ transform: (String, String) -> String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        let items = queryItems(of: url).map { item -> String in
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, ["passfile", "sslcert", "sslkey"].contains(String(parts[0])),
                  let value = parts[1].removingPercentEncoding else {
                return String(item)
            }
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&=+?#")
            let mapped = transform(String(parts[0]), value)
            return "\(parts[0])=" + (mapped.addingPercentEncoding(withAllowedCharacters: allowed) ?? mapped)
        }
        return url[..<question] + "?" + items.joined(separator: "&")
    }

    private static func queryItems(of url: String) -> [Substring] {
        guard let question = url.firstIndex(of: "?") else { return [] }
        return url[url.index(after: question)...].split(separator: "&")
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

    /// Idempotent: creates what is missing. Each role in `passwords` gets (again) that password,
    /// sent as a SCRAM-SHA-256 verifier; other roles keep theirs (roles created without one
    /// cannot log in over a connection that asks for a password).
    public static func createDatabases(superuserURL: String, passwords: [OwnedDatabase: String] = [:],
                                       logger: Logger) async throws {
        let admin = PostgresClient(configuration: PostgresConfiguration(url: superuserURL), logger: logger)
        do {
            for database in OwnedDatabase.allCases {
                let name = database.name
                let roleExists = try await admin.query("SELECT 1 FROM pg_roles WHERE rolname = \(name)")
                if roleExists.isEmpty {
                    // Identifiers cannot be bound; `name` is one of three constants above.
                    _ = try await admin.query("CREATE ROLE \(unsafeSQL: name) LOGIN")
                }
                if let password = passwords[database] {
                    // Utility statements take no binds: the verifier is checked to be of the
                    // form SCRAM-SHA-256$4096:<base64>$<base64>:<base64> before it is spliced.
                    let verifier = try SCRAMVerifier.make(password: password)
                    guard SCRAMVerifier.isWellFormed(verifier) else { throw StackError("malformed SCRAM verifier") }
                    _ = try await admin.query("ALTER ROLE \(unsafeSQL: name) PASSWORD '\(unsafeSQL: verifier)'")
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
