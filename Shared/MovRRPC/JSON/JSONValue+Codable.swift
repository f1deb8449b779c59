import FoundationEssentials

extension JSONValue {
    /// Decodes this value into `T` with `JSONDecoder`'s default strategies (keys as spelled, so
    /// types give their wire names in `CodingKeys`; `Data` as base64).
    ///
    /// Strict by default, as request params must be: a member of any object that `T` (or a type
    /// nested in it) never asks for is an error, so a client cannot slip in `status` or
    /// `owner_id` and have it silently dropped. Decode replies with `strict: false`: a newer
    /// server may add members an older client does not know.
    ///
    /// - Throws: `DecodingError` whose coding path names the offending member; for an unknown
    ///   member it ends at that member, with the description "unknown field".
    public func decode<T: Decodable>(as type: T.Type = T.self, strict: Bool = true) throws -> T {
        try JSONValueDecoder(value: self, rejectingUnknownMembers: strict).decodeAny(T.self)
    }

    /// ``decode(as:strict:)`` through `T`'s `Decodable` conformance all the way down, even for
    /// types that read themselves (``JSONValueReadable``): the reference their readers are
    /// tested against.
    public func decodeThroughCodable<T: Decodable>(as type: T.Type = T.self, strict: Bool = true) throws -> T {
        try JSONValueDecoder(value: self, rejectingUnknownMembers: strict, readers: false).decodeAny(T.self)
    }

    /// The JSON form of `value` (through Foundation's `JSONEncoder`).
    public init(encoding value: some Encodable) throws {
        if let json = value as? JSONValue {  // keeps number literals exact
            self = json
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try encoder.encode(value)
        self = try JSONValue.parse(Array(data), limits: .trusted)
    }
}

/// Lets `JSONValue` sit inside `Codable` types, e.g. a free-form `metadata` member.
///
/// ``JSONValue/decode(as:)`` keeps a nested value's number literals exactly; other decoders
/// (e.g. `JSONDecoder`) read numbers as an integer or a double.
extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .number(String(value))
        } else if let value = try? container.decode(Double.self) {
            guard let number = JSONValue(value) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "non-finite number")
            }
            self = number
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let literal):
            if let integer = Int64(literal) {
                try container.encode(integer)
            } else if let decimal = Decimal(string: literal) {
                try container.encode(decimal)
            } else {
                try container.encode(Double(literal) ?? 0)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
