import FoundationEssentials

/// A type that reads itself from a parsed JSON object, for the few types every ride or
/// signed-in call decodes (params of the internal hops, the replies a caller reads back):
/// ``JSONValue/decode(as:strict:)`` and ``JSONValueDecoder`` call it instead of walking the
/// `Decodable` conformance, whose boxed keyed containers and witness-table calls per member
/// cost about as much as parsing the text (a reserved vehicle: 5.6 µs parsed and decoded
/// before, 3.0 µs read; docs/benchmarks.md, "types that read themselves"). The mirror of
/// ``JSONByteWritable``.
///
/// Its answers must equal the `Decodable` conformance's: the same value, and for bad input the
/// same `DecodingError` (kind, coding path, description), unknown members included when strict.
/// Tests decode each conforming type both ways and compare.
public protocol JSONValueReadable: Decodable {
    /// Reads the members of `object` in the order the `Decodable` conformance asks for them (so
    /// the first bad one is the one it reports). The caller checks for unknown members after.
    init(jsonObject object: inout JSONObjectReader) throws
}

extension JSONValueReadable {
    /// Reads `value` as this type: an object, read by ``init(jsonObject:)``, then (when strict)
    /// checked for a member it never asked for, as ``JSONValueDecoder`` checks.
    static func read(_ value: JSONValue, codingPath: [any CodingKey], strict: Bool) throws -> Self {
        var object = try JSONObjectReader(value, codingPath: codingPath, strict: strict)
        let result = try Self(jsonObject: &object)
        try object.finish()
        return result
    }
}

/// `value` read by `T`'s own reader when `T` reads itself (``JSONValueReadable``); nil when it
/// does not. The one place both ``JSONValueDecoder`` and ``JSONObjectReader`` turn to readers.
func readSelf<T>(_ value: JSONValue, as type: T.Type, codingPath: [any CodingKey], strict: Bool) throws -> T? {
    guard let readable = T.self as? any JSONValueReadable.Type else { return nil }
    return try readable.read(value, codingPath: codingPath, strict: strict) as? T
}

/// The members of one JSON object, read by a ``JSONValueReadable`` type. Each accessor converts
/// the member the way `JSONValueDecoder`'s keyed container does and throws the error it would
/// throw, its coding path built only then. When strict, the reader marks each member asked for
/// (``AskedMembers``, as the keyed container does), so the check for one nobody asked for costs
/// no allocation.
public struct JSONObjectReader {
    let members: [String: JSONValue]
    /// Where this object sits in the decoded document.
    public let codingPath: [any CodingKey]
    let strict: Bool
    private var asked = AskedMembers()

    init(_ value: JSONValue, codingPath: [any CodingKey], strict: Bool) throws {
        guard case .object(let members) = value else {
            throw mismatch([String: Any].self, at: codingPath, found: value)
        }
        self.members = members
        self.codingPath = codingPath
        self.strict = strict
    }

    /// The coding path of member `name`, for errors.
    public func path(_ name: String) -> [any CodingKey] {
        codingPath + [JSONNameKey(stringValue: name)]
    }

    /// The error a type's own rule gives for member `name` (e.g. "expected a UUID string"), as
    /// `DecodingError.dataCorruptedError(forKey:in:debugDescription:)` makes it.
    public func corrupted(_ name: String, _ description: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: path(name), debugDescription: description))
    }

    private mutating func mark(_ name: String) {
        if strict { asked.mark(name, in: members) }
    }

    /// Whether the object has member `name` (null included); recorded as asked for.
    public mutating func contains(_ name: String) -> Bool {
        mark(name)
        return members[name] != nil
    }

    /// Member `name`, recorded as asked for; `keyNotFound` when absent.
    public mutating func value(_ name: String) throws -> JSONValue {
        mark(name)
        guard let value = members[name] else {
            throw DecodingError.keyNotFound(JSONNameKey(stringValue: name),
                                            .init(codingPath: codingPath, debugDescription: "Missing member \(name)"))
        }
        return value
    }

    /// Member `name`, recorded as asked for; nil when absent or null (`decodeIfPresent`).
    public mutating func presentValue(_ name: String) -> JSONValue? {
        mark(name)
        guard let value = members[name], !value.isNull else { return nil }
        return value
    }

    public mutating func string(_ name: String) throws -> String {
        try JSONValueDecoder.string(value(name), at: path(name))
    }

    public mutating func stringIfPresent(_ name: String) throws -> String? {
        guard let value = presentValue(name) else { return nil }
        return try JSONValueDecoder.string(value, at: path(name))
    }

    public mutating func int(_ name: String) throws -> Int {
        try JSONValueDecoder.integer(value(name), as: Int.self, at: path(name))
    }

    public mutating func intIfPresent(_ name: String) throws -> Int? {
        guard let value = presentValue(name) else { return nil }
        return try JSONValueDecoder.integer(value, as: Int.self, at: path(name))
    }

    public mutating func double(_ name: String) throws -> Double {
        try JSONValueDecoder.floatingPoint(value(name), as: Double.self, at: path(name))
    }

    /// A `UUID` member as `UUID`'s own decoding reads it (the synthesized conformances').
    public mutating func uuid(_ name: String) throws -> UUID {
        try JSONValueDecoder.uuid(value(name), at: path(name))
    }

    public mutating func uuidIfPresent(_ name: String) throws -> UUID? {
        guard let value = presentValue(name) else { return nil }
        return try JSONValueDecoder.uuid(value, at: path(name))
    }

    /// A `Date` member as `Date`'s own decoding reads it: seconds since the reference date.
    public mutating func referenceDate(_ name: String) throws -> Date {
        Date(timeIntervalSinceReferenceDate: try JSONValueDecoder.floatingPoint(value(name), as: Double.self, at: path(name)))
    }

    /// A `[String]` member.
    public mutating func strings(_ name: String) throws -> [String] {
        try elements(name) { element, path in try JSONValueDecoder.string(element, at: path()) }
    }

    /// An array member of a type that reads itself.
    public mutating func array<T: JSONValueReadable>(_ name: String, of type: T.Type) throws -> [T] {
        let strict = strict
        return try elements(name) { element, path in try T.read(element, codingPath: path(), strict: strict) }
    }

    /// Array member `name`, each element converted by `convert` (given its coding path, to build
    /// when needed), as the unkeyed container converts them.
    private mutating func elements<T>(_ name: String,
                                      _ convert: (JSONValue, () -> [any CodingKey]) throws -> T) throws -> [T] {
        let value = try value(name)
        guard case .array(let elements) = value else {
            throw mismatch([Any].self, at: path(name), found: value)
        }
        var result: [T] = []
        result.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            result.append(try convert(element, { path(name) + [JSONIndexKey(index: index)] }))
        }
        return result
    }

    /// A member of any `Decodable` type: read directly when it reads itself, else through a
    /// ``JSONValueDecoder`` as strict as this reader.
    public mutating func decode<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        try Self.decode(value(name), as: type, at: path(name), strict: strict)
    }

    public mutating func decodeIfPresent<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T? {
        guard let value = presentValue(name) else { return nil }
        return try Self.decode(value, as: type, at: path(name), strict: strict)
    }

    private static func decode<T: Decodable>(_ value: JSONValue, as type: T.Type, at codingPath: [any CodingKey],
                                             strict: Bool) throws -> T {
        if let result = try readSelf(value, as: type, codingPath: codingPath, strict: strict) { return result }
        return try JSONValueDecoder(value: value, codingPath: codingPath, rejectingUnknownMembers: strict).decodeAny(type)
    }

    /// When strict, throws for the first member nobody asked for (the smallest name), with the
    /// coding path ending at it, as `UnknownMemberCheck` does.
    mutating func finish() throws {
        guard strict, let first = asked.firstUnknown(in: members) else { return }
        throw DecodingError.dataCorrupted(.init(codingPath: path(first), debugDescription: UnknownMemberCheck.message))
    }
}
