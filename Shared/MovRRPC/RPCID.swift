/// A JSON-RPC request id, echoed back exactly as the client wrote it.
public enum RPCID: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    /// The number's literal text, e.g. `1.50` stays `1.50`.
    case number(String)
    case null

    public init(_ value: Int) { self = .number(String(value)) }

    /// The id from a request's `id` member; `nil` for types the spec does not allow.
    public init?(_ json: JSONValue) {
        switch json {
        case .string(let s): self = .string(s)
        case .number(let n): self = .number(n)
        case .null: self = .null
        case .bool, .array, .object: return nil
        }
    }

    public var jsonValue: JSONValue {
        switch self {
        case .string(let s): .string(s)
        case .number(let n): .number(n)
        case .null: .null
        }
    }

    public var description: String { jsonValue.description }
}
