import MovRInternalAPI

/// A type a setting's text parses into.
public protocol SettingValue: Sendable {
    /// The value `text` spells, or nil when it is not one.
    static func parseSetting(_ text: String) -> Self?
    /// For error messages: "an integer", "true or false", ...
    static var settingTypeDescription: String { get }
}

extension Int: SettingValue {
    public static func parseSetting(_ text: String) -> Int? { Int(text) }
    public static var settingTypeDescription: String { "an integer" }
}

extension Bool: SettingValue {
    public static func parseSetting(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes", "on": true
        case "0", "false", "no", "off": false
        default: nil
        }
    }
    public static var settingTypeDescription: String { "true or false" }
}

extension String: SettingValue {
    public static func parseSetting(_ text: String) -> String? { text }
    public static var settingTypeDescription: String { "text" }
}

/// A text setting without a default: nil when unset (or set to the empty string).
extension Optional: SettingValue where Wrapped == String {
    public static func parseSetting(_ text: String) -> String?? { .some(text) }
    public static var settingTypeDescription: String { "text" }
}

/// One setting an executable accepts: its key (flag spelling, `--hash-threads`; environment
/// `MOVR_HASH_THREADS`), its type and its default. Read with `ServiceConfiguration.value(_:)`.
public struct Setting<Value: SettingValue>: Sendable {
    public let name: String
    public let defaultValue: Value

    public init(_ name: String, default defaultValue: Value) {
        self.name = name
        self.defaultValue = defaultValue
    }

    /// The key and type, for the executable's list of accepted settings.
    public var declaration: SettingDeclaration {
        SettingDeclaration(name: name, typeDescription: Value.settingTypeDescription,
                           accepts: { Value.parseSetting($0) != nil })
    }
}

extension Setting where Value == String? {
    /// A text setting that is unset unless given.
    public init(_ name: String) {
        self.init(name, default: nil)
    }
}

/// A declared setting without its value type: what `ServiceConfiguration` checks keys and
/// values against at start.
public struct SettingDeclaration: Sendable, CustomStringConvertible {
    public let name: String
    public let typeDescription: String
    let accepts: @Sendable (String) -> Bool

    public init(name: String, typeDescription: String, accepts: @escaping @Sendable (String) -> Bool) {
        self.name = name
        self.typeDescription = typeDescription
        self.accepts = accepts
    }

    /// `MOVR_HASH_THREADS` for `hash-threads`.
    public var environmentName: String { Self.environmentName(of: name) }
    public var description: String { "--\(name)" }

    public static func environmentName(of key: String) -> String {
        "MOVR_" + key.uppercased().replacing("-", with: "_")
    }

    /// `hash-threads` for `MOVR_HASH_THREADS`.
    public static func key(environmentName: String) -> String {
        String(environmentName.dropFirst(5)).lowercased().replacing("_", with: "-")
    }

    /// The declared key `key` is most likely a misspelling of: within a third of its length in
    /// edits (at least 1, at most 3), or one contains the other; nil when none is that close.
    static func closest(to key: String, in names: some Sequence<String>) -> String? {
        let limit = min(3, max(1, key.count / 3))
        var best: (name: String, distance: Int)?
        for name in names {
            var distance = editDistance(Array(key.utf8), Array(name.utf8))
            if distance > limit, key.count >= 4, name.contains(key) || key.contains(name) {
                distance = limit
            }
            guard distance <= limit else { continue }
            if best == nil || distance < best!.distance || (distance == best!.distance && name < best!.name) {
                best = (name, distance)
            }
        }
        return best?.name
    }

    /// Levenshtein distance (insertions, deletions, substitutions).
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// Settings every MovR executable accepts (docs/operations.md, "Configuration").
public enum SharedSettings {
    public static let region = Setting<String?>("region")
    /// Default: `127.0.0.1:<the identity's port>`.
    public static let listen = Setting<String?>("listen")
    public static let certsDirectory = Setting<String>("certs-dir", default: ".movr/certs")
    public static let tlsCA = Setting<String?>("tls-ca")
    public static let tlsCertificate = Setting<String?>("tls-cert")
    public static let tlsKey = Setting<String?>("tls-key")
    public static let logLevel = Setting<String>("log-level", default: "info")
    public static let localityConfig = Setting<String?>("locality-config")
    public static let topology = Setting<String?>("topology")
    public static let usersURL = Setting<String?>("users-url")
    public static let vehiclesURL = Setting<String?>("vehicles-url")
    public static let ridesURL = Setting<String?>("rides-url")
    public static let maxConnections = Setting<Int>("max-connections", default: 1024)
    public static let certReloadSeconds = Setting<Int>("cert-reload-seconds", default: 30)
    public static let exitWithParent = Setting<Bool>("exit-with-parent", default: false)
    public static let user = Setting<String>("user", default: ServiceUser.defaultName)
    /// Event-loop threads of the process (its listeners, RPC clients and handlers); 0: one per
    /// core. Fewer can cost less CPU where executables share a machine, at the price of a longer
    /// tail (measured in docs/benchmarks.md, run 14; docs/operations.md, "Configuration").
    public static let eventLoops = Setting<Int>("event-loops", default: 0)
    /// The most ``eventLoops`` accepts.
    public static let maxEventLoops = 256
    /// Connections opened at start, before any call needs them, to each peer whose RPC client
    /// exists by then (the request path's) and to the database (0: none; docs/operations.md,
    /// "Configuration").
    public static let warmConnections = Setting<Int>("warm-connections", default: 2)
    /// The most ``warmConnections`` accepts.
    public static let maxWarmConnections = 32

    /// This region's explicit address of `service` (`--users-url`, ...); nil for the gateway.
    public static func url(of service: ServiceIdentity) -> Setting<String?>? {
        switch service {
        case .users: usersURL
        case .vehicles: vehiclesURL
        case .rides: ridesURL
        default: nil
        }
    }

    public static let all: [SettingDeclaration] = [
        region.declaration, listen.declaration, certsDirectory.declaration, tlsCA.declaration,
        tlsCertificate.declaration, tlsKey.declaration, logLevel.declaration, localityConfig.declaration,
        topology.declaration, usersURL.declaration, vehiclesURL.declaration, ridesURL.declaration,
        maxConnections.declaration, certReloadSeconds.declaration, exitWithParent.declaration, user.declaration,
        eventLoops.declaration, warmConnections.declaration,
    ]
}

/// Settings of a public listener (the gateway's), read by `ServiceRuntime.makeServer(isPublic: true)`.
public enum PublicListenerSettings {
    public static let maxConnectionsPerClient = Setting<Int>("max-connections-per-client", default: 64)
    public static let readTimeoutSeconds = Setting<Int>("public-read-timeout-seconds", default: 5)
    public static let idleTimeoutSeconds = Setting<Int>("public-idle-timeout-seconds", default: 15)
    public static let trustedProxies = Setting<String>("trusted-proxies", default: "")
    public static let publicMetrics = Setting<Bool>("public-metrics", default: false)

    public static let all: [SettingDeclaration] = [
        maxConnectionsPerClient.declaration, readTimeoutSeconds.declaration, idleTimeoutSeconds.declaration,
        trustedProxies.declaration, publicMetrics.declaration,
    ]
}
