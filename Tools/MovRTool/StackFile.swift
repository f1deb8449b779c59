import Foundation
import Logging
import MovRInternalAPI
import MovRService

/// `.movr/stack.json`: how to reach a running stack (written by `movr up`, read by tools and
/// tests; an external deployment can provide the same file).
public struct StackFile: Sendable {
    public var ca: String
    public var clientCertificate: String
    public var clientKey: String
    public var databaseURL: String
    public var primaryRegion: String
    public var topology: Topology
    /// Superuser URLs of the hot standbys by region (`movr up --replicas`).
    public var replicas: [String: String] = [:]
    /// How many links the WAN simulator delays (`movr up --wan`; 0 without it).
    public var wanLinkCount: Int = 0
    public var homeRegionRouting: Bool = true

    public static func load(_ path: String) throws -> StackFile {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw StackError("cannot read \(path); is the stack running (make run)?")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent().path
        func resolve(_ key: String) throws -> String {
            guard let value = object[key] as? String else { throw StackError("\(path) lacks '\(key)'") }
            return value.hasPrefix("/") ? value : "\(base)/\(value)"
        }
        let regions = try JSONDecoder().decode(Topology.self, from: data)
        return StackFile(
            ca: try resolve("ca"), clientCertificate: try resolve("client_cert"), clientKey: try resolve("client_key"),
            databaseURL: object["database_url"] as? String ?? "",
            primaryRegion: object["primary_region"] as? String ?? "us-east1",
            topology: regions,
            replicas: object["replicas"] as? [String: String] ?? [:],
            wanLinkCount: ((object["wan"] as? [String: Any])?["links"] as? [Any])?.count ?? 0,
            homeRegionRouting: object["home_region_routing"] as? Bool ?? true)
    }

    /// A client of `service` presenting the operator certificate.
    public func operatorClient(for service: ServiceIdentity, region: String? = nil, logger: Logger) throws -> PublicClient {
        let url = try topology.url(of: service, in: region ?? primaryRegion)
        return try PublicClient(url: url, serverName: service.serverName, caPath: ca,
                                clientCertificate: (clientCertificate, clientKey), logger: logger)
    }

    /// The environment of one more `movr-<identity>` of this stack's primary region, listening
    /// on 127.0.0.1:`port`: the region's settings file, the stack's certificates and topology
    /// (in `stackDirectory`), its database (already migrated), and only settings `identity`
    /// accepts. It stops when its parent does.
    public func executableEnvironment(for identity: ServiceIdentity, port: Int, stackDirectory: String) throws
        -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MOVR_") }
        for (key, value) in try LocalStack.regionEnvironment(region: primaryRegion) { environment[key] = value }
        environment["MOVR_REGION"] = primaryRegion
        environment["MOVR_LISTEN"] = "127.0.0.1:\(port)"
        environment["MOVR_CERTS_DIR"] = stackDirectory + "/certs"
        environment["MOVR_TOPOLOGY"] = stackDirectory + "/stack.json"
        environment["MOVR_MIGRATE"] = "false"
        environment["MOVR_EXIT_WITH_PARENT"] = "true"
        if let database = OwnedDatabase(rawValue: identity.rawValue) {
            environment["MOVR_DATABASE_URL"] = DatabaseSetup.serviceURL(superuserURL: databaseURL, database: database)
        }
        // The gateway has no database, hence no `migrate`.
        let accepted = Set(ExecutableSettings.accepted(by: identity).map(\.environmentName))
        return environment.filter { !$0.key.hasPrefix("MOVR_") || accepted.contains($0.key) }
    }

    /// A public client of the gateway of `region`.
    public func gatewayClient(region: String? = nil, maxConnections: Int? = nil, logger: Logger) throws -> PublicClient {
        try PublicClient(url: try topology.url(of: .gateway, in: region ?? primaryRegion), caPath: ca,
                         maxConnections: maxConnections, logger: logger)
    }
}
