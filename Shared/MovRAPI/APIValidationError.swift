import FoundationEssentials

/// A params value broke a rule of the API. Maps to JSON-RPC -32602 with `data.field`.
///
/// `message` states the rule, never the rejected value (it may be a password).
public struct APIValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The offending param, dotted for nested ones (`location.latitude`); `params` for the whole.
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    /// Names the field a `DecodingError` points at, so decoding failures report like rule failures.
    ///
    /// Only messages this module writes pass through; Foundation's may quote the input.
    public init(_ error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            self.init(field: Self.fieldName(context.codingPath + [key]), message: "missing field")
        case .valueNotFound(_, let context):
            self.init(field: Self.fieldName(context.codingPath), message: "must not be null")
        case .typeMismatch(let type, let context):
            self.init(field: Self.fieldName(context.codingPath),
                      message: "wrong type, expected \(Self.jsonTypeName(type))")
        case .dataCorrupted(let context):
            let own = context.debugDescription == Self.unknownFieldMessage
                || context.debugDescription.hasPrefix("expected ")
            self.init(field: Self.fieldName(context.codingPath),
                      message: own ? context.debugDescription : "invalid value")
        @unknown default:
            self.init(field: "params", message: "invalid value")
        }
    }

    public var description: String { "invalid param '\(field)': \(message)" }

    /// What the server's params decoder (MovRRPC's `JSONValue.decode(as:)`) says of a member the
    /// params type does not have; that module is not a dependency, so the text is repeated here.
    static let unknownFieldMessage = "unknown field"

    static func fieldName(_ path: [any CodingKey]) -> String {
        let names = path.map { key in key.intValue.map(String.init) ?? key.stringValue }
        return names.isEmpty ? "params" : names.joined(separator: ".")
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "string"
        case is Bool.Type: "boolean"
        case is Int.Type, is Int64.Type, is Double.Type: "number"
        case is [Any].Type: "array"
        case is [String: Any].Type: "object"
        default: "\(type)".lowercased()
        }
    }
}
