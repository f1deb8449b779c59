import FoundationEssentials

/// A `jsonb` value carried as raw JSON text; the layer never re-encodes it.
public struct PostgresJSON: PostgresEncodable, PostgresDecodable, Hashable {
    /// The JSON document as text (as the server returns it for jsonb).
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// Wraps UTF-8 JSON bytes; invalid UTF-8 is repaired with U+FFFD.
    public init(bytes: some Sequence<UInt8>) {
        self.rawValue = String(decoding: Array(bytes), as: UTF8.self)
    }

    /// Encodes a value with `JSONEncoder`.
    public init<Value: Encodable>(encoding value: Value, encoder: JSONEncoder = JSONEncoder()) throws {
        self.init(bytes: try encoder.encode(value))
    }

    public var data: Data { Data(rawValue.utf8) }

    /// Decodes the document with `JSONDecoder`.
    public func decode<Value: Decodable>(_ type: Value.Type = Value.self, decoder: JSONDecoder = JSONDecoder()) throws -> Value {
        try decoder.decode(type, from: data)
    }

    public static var postgresType: PostgresDataType { .jsonb }
    public var postgresText: String? { rawValue }
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> PostgresJSON {
        PostgresJSON(rawValue: try String.decode(postgresBytes: bytes))
    }
}
