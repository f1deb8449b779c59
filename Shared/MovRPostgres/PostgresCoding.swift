import Foundation

/// A Swift value that can be sent as a bind parameter in libpq's text format.
public protocol PostgresEncodable: Sendable {
    /// The parameter type announced to the server; `.unspecified` lets it infer one.
    static var postgresType: PostgresDataType { get }
    /// The text representation, or `nil` for SQL NULL.
    var postgresText: String? { get }
}

/// A Swift value that can be read from a result column in libpq's text format.
public protocol PostgresDecodable {
    /// Decodes a column value; `text` is `nil` for SQL NULL.
    /// Throws `PostgresDecodingFailure` when the text is not a valid value of this type.
    static func decode(postgresText text: String?) throws -> Self
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
    static func requireText(_ text: String?) throws -> String {
        guard let text else { throw PostgresDecodingFailure(expectedType: "\(Self.self)", wasNull: true) }
        return text
    }
    static func invalid() -> PostgresDecodingFailure {
        PostgresDecodingFailure(expectedType: "\(Self.self)", wasNull: false)
    }
}

// MARK: Optional → NULL

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresType: PostgresDataType { Wrapped.postgresType }
    public var postgresText: String? { self?.postgresText }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: String?) throws -> Self {
        guard let text else { return nil }
        return try Wrapped.decode(postgresText: text)
    }
}

// MARK: Text

extension String: PostgresEncodable, PostgresDecodable {
    // Unspecified so a string can be compared with uuid, enum or varchar columns without casts.
    public static var postgresType: PostgresDataType { .unspecified }
    public var postgresText: String? { self }
    public static func decode(postgresText text: String?) throws -> String { try requireText(text) }
}

// MARK: Integers

extension Int: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .int8 }
    public var postgresText: String? { String(self) }
    public static func decode(postgresText text: String?) throws -> Int {
        guard let value = Int(try requireText(text)) else { throw invalid() }
        return value
    }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .int8 }
    public var postgresText: String? { String(self) }
    public static func decode(postgresText text: String?) throws -> Int64 {
        guard let value = Int64(try requireText(text)) else { throw invalid() }
        return value
    }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .int4 }
    public var postgresText: String? { String(self) }
    public static func decode(postgresText text: String?) throws -> Int32 {
        guard let value = Int32(try requireText(text)) else { throw invalid() }
        return value
    }
}

// MARK: Bool, Double, Decimal, UUID

extension Bool: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .bool }
    public var postgresText: String? { self ? "t" : "f" }
    public static func decode(postgresText text: String?) throws -> Bool {
        switch try requireText(text) {
        case "t", "true", "TRUE", "1": return true
        case "f", "false", "FALSE", "0": return false
        default: throw invalid()
        }
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .float8 }
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return "\(self)"
    }
    public static func decode(postgresText text: String?) throws -> Double {
        guard let value = Double(try requireText(text)) else { throw invalid() }
        return value
    }
}

extension Decimal: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .numeric }
    public var postgresText: String? { isNaN ? "NaN" : "\(self)" }
    public static func decode(postgresText text: String?) throws -> Decimal {
        let text = try requireText(text)
        // Decimal(string:) accepts a numeric prefix ("12abc"); insist on the whole text.
        guard text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e" || $0 == "E") }),
              let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
        else { throw invalid() }
        return value
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .uuid }
    public var postgresText: String? { uuidString.lowercased() }
    public static func decode(postgresText text: String?) throws -> UUID {
        guard let value = UUID(uuidString: try requireText(text)) else { throw invalid() }
        return value
    }
}

// MARK: Date ↔ timestamptz

extension Date: PostgresEncodable, PostgresDecodable {
    public static var postgresType: PostgresDataType { .timestamptz }
    public var postgresText: String? { PostgresTimestamp.format(self) }
    public static func decode(postgresText text: String?) throws -> Date {
        guard let date = PostgresTimestamp.parse(try requireText(text)) else { throw invalid() }
        return date
    }
}

// MARK: Arrays

extension Array: PostgresEncodable where Element == String {
    public static var postgresType: PostgresDataType { .textArray }
    public var postgresText: String? { PostgresArrayText.format(self) }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public static func decode(postgresText text: String?) throws -> [Element] {
        guard let elements = PostgresArrayText.parse(try requireText(text)) else { throw invalid() }
        return try elements.map { try Element.decode(postgresText: $0) }
    }
}

/// A `uuid[]` parameter. (Swift allows only one conditional `Array: PostgresEncodable`.)
public struct PostgresUUIDArray: PostgresEncodable, PostgresDecodable, Hashable {
    public var uuids: [UUID]
    public init(_ uuids: [UUID]) { self.uuids = uuids }
    public static var postgresType: PostgresDataType { .uuidArray }
    public var postgresText: String? { PostgresArrayText.format(uuids.map { $0.uuidString.lowercased() }) }
    public static func decode(postgresText text: String?) throws -> PostgresUUIDArray {
        PostgresUUIDArray(try [UUID].decode(postgresText: text))
    }
}
