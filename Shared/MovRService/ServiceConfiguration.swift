import Foundation

/// Settings of one executable, from `MOVR_*` environment variables overridden by `--flags`.
///
/// Every key has one spelling in each form: `MOVR_DATABASE_URL` and `--database-url`. The full
/// list, with defaults, is in docs/operations.md; defaults make `make run` work unchanged.
public struct ServiceConfiguration: Sendable {
    private let values: [String: String]

    /// Reads `environment`, then applies `arguments` (`--key value` or `--key=value`).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                arguments: [String] = Array(CommandLine.arguments.dropFirst())) throws {
        var values: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix("MOVR_") {
            values[String(name.dropFirst(5)).lowercased().replacingOccurrences(of: "_", with: "-")] = value
        }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw ConfigurationError(message: "unexpected argument '\(argument)'; flags look like --key value")
            }
            let flag = argument.dropFirst(2)
            if let equals = flag.firstIndex(of: "=") {
                values[String(flag[..<equals])] = String(flag[flag.index(after: equals)...])
            } else {
                guard index + 1 < arguments.count else {
                    throw ConfigurationError(message: "flag --\(flag) needs a value")
                }
                values[String(flag)] = arguments[index + 1]
                index += 1
            }
            index += 1
        }
        self.values = values
    }

    /// Builds a configuration from explicit values (keys in flag spelling, e.g. "database-url").
    public init(values: [String: String]) {
        self.values = values
    }

    public func string(_ key: String) -> String? {
        values[key].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func string(_ key: String, default fallback: String) -> String {
        string(key) ?? fallback
    }

    public func require(_ key: String) throws -> String {
        guard let value = string(key) else {
            throw ConfigurationError(message: "missing setting --\(key) (environment MOVR_\(key.uppercased().replacingOccurrences(of: "-", with: "_")))")
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
        guard let text = string(key)?.lowercased() else { return fallback }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(message: "setting --\(key) must be true or false")
        }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
