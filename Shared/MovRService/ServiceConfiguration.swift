import FoundationEssentials

/// Settings of one executable, from `MOVR_*` environment variables overridden by `--flags`.
///
/// Every key has one spelling in each form: `MOVR_DATABASE_URL` and `--database-url`. What an
/// executable accepts, with types and defaults, is declared once per executable (``Setting``,
/// `MovRServiceDefinition.settings`); the table in docs/operations.md lists them all.
public struct ServiceConfiguration: Sendable {
    /// Where a value came from, for error messages that name what the operator wrote.
    enum Source: Sendable {
        case environment
        case flag
        case explicit
    }

    private let values: [String: String]
    private let sources: [String: Source]

    /// Reads `environment`, then applies `arguments` (`--key value` or `--key=value`).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                arguments: [String] = Array(CommandLine.arguments.dropFirst())) throws {
        var values: [String: String] = [:]
        var sources: [String: Source] = [:]
        for (name, value) in environment where name.hasPrefix("MOVR_") {
            let key = SettingDeclaration.key(environmentName: name)
            values[key] = value
            sources[key] = .environment
        }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigurationError(message: "unexpected argument '\(argument)'; flags look like --key value")
            }
            let flag = argument.dropFirst(2)
            let key: String
            if let equals = flag.firstIndex(of: "=") {
                key = String(flag[..<equals])
                values[key] = String(flag[flag.index(after: equals)...])
            } else {
                guard index + 1 < arguments.count else {
                    throw ConfigurationError(message: "flag --\(flag) needs a value")
                }
                key = String(flag)
                values[key] = arguments[index + 1]
                index += 1
            }
            sources[key] = .flag
            index += 1
        }
        self.values = values
        self.sources = sources
    }

    /// Reads `environment` and `arguments` like ``init(environment:arguments:)`` and refuses,
    /// naming the key, any setting not in `accepted` and any value not of its declared type.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                arguments: [String] = Array(CommandLine.arguments.dropFirst()),
                accepting accepted: [SettingDeclaration]) throws {
        try self.init(environment: environment, arguments: arguments)
        try validate(accepting: accepted)
    }

    /// Builds a configuration from explicit values (keys in flag spelling, e.g. "database-url").
    public init(values: [String: String]) {
        self.values = values
        self.sources = values.mapValues { _ in .explicit }
    }

    /// Throws for the first key (in name order) that `accepted` does not declare, suggesting the
    /// declared key it most resembles, or whose value is not of its declared type.
    public func validate(accepting accepted: [SettingDeclaration]) throws {
        let declared = Dictionary(accepted.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for key in values.keys.sorted() {
            guard let declaration = declared[key] else {
                let suggestion = SettingDeclaration.closest(to: key, in: declared.keys)
                throw ConfigurationError(message: unknownMessage(key, suggestion: suggestion))
            }
            if let text = string(key), !declaration.accepts(text) {
                throw ConfigurationError(message: "\(spelling(key)) must be \(declaration.typeDescription), not '\(text)'")
            }
        }
    }

    /// The value of `setting`, or its default when unset or empty.
    public func value<Value>(_ setting: Setting<Value>) throws -> Value {
        guard let text = string(setting.name) else { return setting.defaultValue }
        guard let value = Value.parseSetting(text) else {
            throw ConfigurationError(message: "\(spelling(setting.name)) must be \(Value.settingTypeDescription), not '\(text)'")
        }
        return value
    }

    /// The value of a setting without a default, or a clear error naming both spellings.
    public func require(_ setting: Setting<String?>) throws -> String {
        guard let text = try value(setting) else { return try require(setting.name) }
        return text
    }

    public func string(_ key: String) -> String? {
        values[key].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func string(_ key: String, default fallback: String) -> String {
        string(key) ?? fallback
    }

    public func require(_ key: String) throws -> String {
        guard let value = string(key) else {
            throw ConfigurationError(message: "missing setting --\(key) (environment \(SettingDeclaration.environmentName(of: key)))")
        }
        return value
    }

    public func int(_ key: String, default fallback: Int) throws -> Int {
        guard let text = string(key) else { return fallback }
        guard let value = Int(text) else {
            throw ConfigurationError(message: "setting --\(key) must be an integer")
        }
        return value
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let text = string(key) else { return fallback }
        guard let value = Bool.parseSetting(text) else {
            throw ConfigurationError(message: "setting --\(key) must be true or false")
        }
        return value
    }

    /// The key as the operator wrote it: flag, environment variable, or both spellings.
    private func spelling(_ key: String) -> String {
        switch sources[key] {
        case .flag: "flag --\(key)"
        case .environment: "environment variable \(SettingDeclaration.environmentName(of: key))"
        default: "setting --\(key) (\(SettingDeclaration.environmentName(of: key)))"
        }
    }

    private func unknownMessage(_ key: String, suggestion: String?) -> String {
        switch sources[key] {
        case .environment:
            "unknown environment variable \(SettingDeclaration.environmentName(of: key))"
                + (suggestion.map { "; did you mean \(SettingDeclaration.environmentName(of: $0))?" } ?? "")
        case .flag:
            "unknown flag --\(key)" + (suggestion.map { "; did you mean --\($0)?" } ?? "")
        default:
            "unknown setting --\(key)" + (suggestion.map { "; did you mean --\($0)?" } ?? "")
        }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
