import FoundationEssentials
import MovRInternalAPI

/// Where each region's executables listen: the `regions` object of `.movr/stack.json` (or any
/// JSON file of that shape named by `MOVR_TOPOLOGY`).
public struct Topology: Sendable, Codable {
    public struct RegionEndpoints: Sendable, Codable {
        public var gateway: String?
        public var users: String?
        public var vehicles: String?
        public var rides: String?

        public init(gateway: String? = nil, users: String? = nil, vehicles: String? = nil, rides: String? = nil) {
            self.gateway = gateway
            self.users = users
            self.vehicles = vehicles
            self.rides = rides
        }

        public func url(of identity: ServiceIdentity) -> String? {
            switch identity {
            case .gateway: return gateway
            case .users: return users
            case .vehicles: return vehicles
            case .rides: return rides
            case .operator: return nil
            }
        }
    }

    public var regions: [String: RegionEndpoints]

    public init(regions: [String: RegionEndpoints]) {
        self.regions = regions
    }

    public static func load(path: String) throws -> Topology {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            return try JSONDecoder().decode(Topology.self, from: data)
        } catch {
            throw ConfigurationError(message: "topology file \(path) is not a JSON object with a 'regions' map")
        }
    }

    /// The URL of `identity` in `region`, or an error naming what is missing.
    public func url(of identity: ServiceIdentity, in region: String) throws -> String {
        guard let url = regions[region]?.url(of: identity) else {
            throw ConfigurationError(message: "topology has no \(identity.rawValue) endpoint for region \(region)")
        }
        return url
    }
}
