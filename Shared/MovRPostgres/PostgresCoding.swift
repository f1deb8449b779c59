import FoundationEssentials
import MovRUUID

/// A Swift value that can be sent as a bind parameter in libpq's text format.
public protocol PostgresEncodable: Sendable {
    /// The parameter type announced to the server; `.unspecified` lets it infer one.
    static var postgresType: PostgresDataType { get }
    /// The text representation, or `nil` for SQL NULL.
    var postgresText: String? { get }
}

/// A Swift value that can be read from a result column in libpq's text format.
public protocol PostgresDecodable {
    /// Decodes a column value from its text-format bytes (UTF-8, without the terminating NUL);
    /// `bytes` is `nil` for SQL NULL. The bytes belong to the result and are valid only during
    /// the call: copy what must outlive it.
    /// Throws `PostgresDecodingFailure` when the bytes are not a valid value of this type.
    static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> Self

    /// Decodes a column value from binary-format bytes of the column's `type`
    /// (``PostgresResultFormat/binary``); `nil` is SQL NULL. The default refuses: a type reads
    /// binary only where it says so.
    static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> Self
}

extension PostgresDecodable {
    public static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> Self {
        try parseBinary(bytes, type) { _, _ in nil }
    }

    /// Decodes binary bytes with a reader that returns `nil` for a type or length it does not
    /// take; NULL and refusals throw.
    static func parseBinary(_ bytes: UnsafeRawBufferPointer?, _ type: PostgresDataType,
                            _ reader: (UnsafeRawBufferPointer, PostgresDataType) -> Self?) throws -> Self {
        guard let value = reader(try requireBytes(bytes), type) else {
            throw PostgresDecodingFailure(expectedType: "\(Self.self) (from binary \(type))", wasNull: false)
        }
        return value
    }
}

extension PostgresDecodable {
    /// Decodes a column value from text; `text` is `nil` for SQL NULL. (Reads the string's own
    /// UTF-8 storage; no copy for native strings.)
    public static func decode(postgresText text: String?) throws -> Self {
        guard var text else { return try decode(postgresBytes: nil) }
        return try text.withUTF8 { try decode(postgresBytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Why a column value could not be decoded. Carries no value text, so it is safe to log.
public struct PostgresDecodingFailure: Error, Sendable, CustomStringConvertible {
    public var expectedType: String
    public var wasNull: Bool
    public init(expectedType: String, wasNull: Bool) {
        self.expectedType = expectedType
        self.wasNull = wasNull
    }
    public var description: String {
        wasNull ? "unexpected NULL for \(expectedType)" : "invalid text for \(expectedType)"
    }
}

extension PostgresDecodable {
    static func requireBytes(_ bytes: UnsafeRawBufferPointer?) throws -> UnsafeRawBufferPointer {
        guard let bytes else { throw PostgresDecodingFailure(expectedType: "\(Self.self)", wasNull: true) }
        return bytes
    }
    static func invalid() -> PostgresDecodingFailure {
        PostgresDecodingFailure(expectedType: "\(Self.self)", wasNull: false)
    }
    /// Decodes with a parser that returns `nil` for invalid bytes; NULL and invalid throw.
    static func parse(_ bytes: UnsafeRawBufferPointer?, _ parser: (UnsafeRawBufferPointer) -> Self?) throws -> Self {
        guard let value = parser(try requireBytes(bytes)) else { throw invalid() }
        return value
    }
}

// MARK: Optional → NULL

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresType: PostgresDataType { Wrapped.postgresType }
    public var postgresText: String? { self?.postgresText }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> Self {
        guard let bytes else { return nil }
        return try Wrapped.decode(postgresBytes: bytes)
    }
    public static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> Self {
        guard let bytes else { return nil }
        return try Wrapped.decode(postgresBinary: bytes, type: type)
    }
}

// MARK: Text

extension String: PostgresEncodable, PostgresDecodable {
    // Unspecified so a string can be compared with uuid, enum or varchar columns without casts.
    public static var postgresType: PostgresDataType { .unspecified }
    public var postgresText: String? { self }
    /// The one decode that allocates (unless the text is short enough for an inline string).
    /// Invalid UTF-8 is repaired with U+FFFD, as `String(cString:)` did.
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> String {
        String(decoding: try requireBytes(bytes), as: UTF8.self)
    }
    /// Text-like types only (text, varchar, char, name): their binary format is their text.
    public static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> String {
        try parseBinary(bytes, type) { bytes, type in
            PostgresValueBinary.isTextLike(type) ? String(decoding: bytes, as: UTF8.self) : nil
        }
    }
}

// MARK: Integers

extension Int: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .int8 }
    public var postgresText: String? { String(self) }
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> Int {
        try parse(bytes) { PostgresValueText.integer($0, as: Int.self) }
    }
    public static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> Int {
        try parseBinary(bytes, type) { bytes, type in PostgresValueBinary.integer(bytes, type: type).flatMap { Int(exactly: $0) } }
    }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .int8 }
    public var postgresText: String? { String(self) }
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> Int64 {
        try parse(bytes) { PostgresValueText.integer($0, as: Int64.self) }
    }
    public static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> Int64 {
        try parseBinary(bytes, type) { bytes, type in PostgresValueBinary.integer(bytes, type: type).flatMap { Int64(exactly: $0) } }
    }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .int4 }
    public var postgresText: String? { String(self) }
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> Int32 {
        try parse(bytes) { PostgresValueText.integer($0, as: Int32.self) }
    }
    public static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> Int32 {
        try parseBinary(bytes, type) { bytes, type in PostgresValueBinary.integer(bytes, type: type).flatMap { Int32(exactly: $0) } }
    }
}

// MARK: Bool, Double, Decimal, UUID

extension Bool: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .bool }
    public var postgresText: String? { self ? "t" : "f" }
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> Bool {
        try parse(bytes, PostgresValueText.bool)
    }
    public static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> Bool {
        try parseBinary(bytes, type, PostgresValueBinary.bool)
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .float8 }
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return "\(self)"
    }
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> Double {
        try parse(bytes, PostgresValueText.double)
    }
    public static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> Double {
        try parseBinary(bytes, type, PostgresValueBinary.double)
    }
}

extension Decimal: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .numeric }
    public var postgresText: String? { isNaN ? "NaN" : "\(self)" }
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> Decimal {
        try parse(bytes, PostgresValueText.decimal)
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .uuid }
    public var postgresText: String? { UUIDText.lowercase(self) }
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> UUID {
        try parse(bytes, UUIDText.parse)
    }
    public static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> UUID {
        try parseBinary(bytes, type, PostgresValueBinary.uuid)
    }
}

// MARK: Date ↔ timestamptz

extension Date: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .timestamptz }
    public var postgresText: String? { PostgresTimestamp.format(self) }
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> Date {
        try parse(bytes, PostgresTimestamp.parse(bytes:))
    }
    public static func decode(postgresBinary bytes: UnsafeRawBufferPointer?, type: PostgresDataType) throws -> Date {
        try parseBinary(bytes, type, PostgresValueBinary.timestamp)
    }
}

// MARK: Arrays

extension Array: PostgresEncodable where Element == String {
    public static var postgresType: PostgresDataType { .textArray }
    public var postgresText: String? { PostgresArrayText.format(self) }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> [Element] {
        var elements: [Element] = []
        let valid = try PostgresArrayText.forEachElement(in: try requireBytes(bytes)) {
            elements.append(try Element.decode(postgresBytes: $0))
        }
        guard valid else { throw invalid() }
        return elements
    }
}

/// A `uuid[]` parameter. (Swift allows only one conditional `Array: PostgresEncodable`.)
public struct PostgresUUIDArray: PostgresEncodable, PostgresDecodable, Hashable {
    public var uuids: [UUID]
    public init(_ uuids: [UUID]) { self.uuids = uuids }
    public static var postgresType: PostgresDataType { .uuidArray }
    public var postgresText: String? { PostgresArrayText.format(uuids.map(UUIDText.lowercase)) }
    public static func decode(postgresBytes bytes: UnsafeRawBufferPointer?) throws -> PostgresUUIDArray {
        PostgresUUIDArray(try [UUID].decode(postgresBytes: bytes))
    }
}
