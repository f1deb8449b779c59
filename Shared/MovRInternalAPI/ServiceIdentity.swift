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

    /// Default listen port of an executable started on its own (`movr up` assigns its own
    /// ports: base+10*region+3..6, see `LocalStack`).
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
