/// The identities that appear in MovR certificates (subject CN) and in per-method allow lists.
public enum ServiceIdentity: String, Sendable, CaseIterable {
    case gateway
    case users
    case vehicles
    case rides
    /// The operator's `movr` tool (migrations, checks, admin grants).
    case `operator`

    /// The DNS name in this identity's certificate that clients verify.
    public var serverName: String { "\(rawValue).movr.internal" }

    /// Default port of each service's internal listener (and the gateway's public one) in the
    /// first region; later regions add 10 per region (see `movr up`).
    public var defaultPort: Int {
        switch self {
        case .gateway: return 8443
        case .users: return 9441
        case .vehicles: return 9442
        case .rides: return 9443
        case .operator: return 0
        }
    }
}
