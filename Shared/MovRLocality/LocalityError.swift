/// Why a locality or configuration lookup failed.
///
/// `reason` is the stable snake_case code the API edge maps to a JSON-RPC error
/// (`unknown_city` etc.); `description` names only client-supplied values and file paths.
public enum LocalityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The city is not in the configured city map.
    case unknownCity(String)
    /// The region is not in the configured region list.
    case unknownRegion(String)
    /// An `X-Place` header that is not `city,latitude,longitude` with valid coordinates.
    case invalidPlace(String)
    /// A configuration file exists but is unreadable, not JSON, or fails validation.
    case invalidConfiguration(path: String, reason: String)
    /// No configuration file was found; lists every place that was searched.
    case configurationNotFound(searched: [String])

    /// Stable snake_case code for logs and API errors.
    public var reason: String {
        switch self {
        case .unknownCity: "unknown_city"
        case .unknownRegion: "unknown_region"
        case .invalidPlace: "invalid_place"
        case .invalidConfiguration: "invalid_configuration"
        case .configurationNotFound: "configuration_not_found"
        }
    }

    public var description: String {
        switch self {
        case .unknownCity(let name): "unknown city \"\(Self.clipped(name))\""
        case .unknownRegion(let name): "unknown region \"\(Self.clipped(name))\""
        case .invalidPlace(let value):
            "invalid X-Place \"\(Self.clipped(value))\": expected \"city,latitude,longitude\""
        case .invalidConfiguration(let path, let reason): "invalid configuration \(path): \(reason)"
        case .configurationNotFound(let searched):
            "configuration not found; searched: \(searched.joined(separator: ", "))"
        }
    }

    // Client-supplied text can be arbitrarily long; a log line or error message should not be.
    private static func clipped(_ value: String) -> String {
        value.count <= 80 ? value : String(value.prefix(80)) + "…"
    }
}
