import Logging
import MovRLocality

/// The gateways a load run talks to: by default each city's requests go to the gateway of the
/// city's region (what a global load balancer does for a client there); with `via`, every
/// request goes to that one region's gateway, which routes by `X-City`.
public struct LoadGateways: Sendable {
    private let clients: [String: PublicClient]
    private let fallback: PublicClient
    private let regionOfCity: [String: String]
    private let via: String?

    public init(stack: StackFile, cities: [City], via: String? = nil, maxConnections: Int, logger: Logger) throws {
        var clients: [String: PublicClient] = [:]
        for region in via.map({ [$0] }) ?? Array(Set(cities.map(\.region))) {
            clients[region] = try stack.gatewayClient(region: region, maxConnections: maxConnections, logger: logger)
        }
        guard let fallback = via.flatMap({ clients[$0] }) ?? clients[stack.primaryRegion] ?? clients.values.first else {
            throw StackError("no cities to send load to")
        }
        self.clients = clients
        self.fallback = fallback
        self.regionOfCity = Dictionary(cities.map { ($0.name, $0.region) }, uniquingKeysWith: { first, _ in first })
        self.via = via
    }

    /// The client for requests about `city` (any gateway routes any city; this one is nearest).
    public func client(for city: String) -> PublicClient {
        clients[via ?? regionOfCity[city] ?? ""] ?? fallback
    }

    /// Warms each gateway's pool with `connections` keep-alive connections (see ``PublicClient/warm(connections:)``).
    public func warm(connections: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for client in clients.values { group.addTask { await client.warm(connections: connections) } }
        }
    }

    public func shutdown() async {
        for client in clients.values { await client.shutdown() }
    }
}

extension Locality {
    /// The cities named in a `--cities` list (case- and space-insensitive), or every city.
    func loadCities(_ names: [String]?) throws -> [City] {
        guard let names, !names.isEmpty else { return cities }
        return try names.map { name in
            let wanted = name.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
            guard let city = cities.first(where: { $0.name == wanted }) else {
                throw StackError("unknown city '\(name)'; known: \(cities.map(\.name).joined(separator: ", "))")
            }
            return city
        }
    }
}
