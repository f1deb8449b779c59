import FoundationEssentials
import MovRUUID

/// Decodes `Decodable` types straight from a ``JSONValue``.
///
/// Unlike a round trip through `JSONDecoder`, every failure carries the coding path of the
/// offending member (Foundation loses it for e.g. `1.5` into an `Int`), numbers convert from
/// their exact literal, and a nested `JSONValue` member keeps its literal text. Follows
/// `JSONDecoder`'s default strategies: keys as spelled, `Data` as base64, `Date` as the
/// type's own encoding.
///
/// When strict, an object member that the decoded type never asked for is an error, so params
/// types need no code of their own to refuse smuggled keys: see ``UnknownMemberCheck``. Only
/// objects the type opened as a keyed container are checked; a `JSONValue` member takes anything.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// Where objects opened here are recorded for checking; nil when lenient.
    private let check: UnknownMemberCheck?
    /// What the type asked of `value` when it is an object and decoding is strict.
    private let requests: RequestedMembers?
    /// Whether types that read themselves (``JSONValueReadable``) do so; false only in tests
    /// that compare their readers with their `Decodable` conformances.
    let readers: Bool

    init(value: JSONValue, codingPath: [any CodingKey] = [], rejectingUnknownMembers strict: Bool = false,
         readers: Bool = true) {
        self.init(value: value, codingPath: codingPath, check: strict ? UnknownMemberCheck() : nil, readers: readers)
    }

    private init(value: JSONValue, codingPath: [any CodingKey], check: UnknownMemberCheck?,
                 requests: RequestedMembers? = nil, readers: Bool) {
        self.value = value
        self.codingPath = codingPath
        self.check = check
        self.readers = readers
        if let requests {
            self.requests = requests
        } else if check != nil, case .object(let members) = value {
            self.requests = RequestedMembers(members: members, codingPath: codingPath)
        } else {
            self.requests = nil
        }
    }

    /// The decoder of a member or element, as strict as this one.
    func child(_ value: JSONValue, key: any CodingKey) -> JSONValueDecoder {
        JSONValueDecoder(value: value, codingPath: codingPath + [key], check: check, readers: readers)
    }

    /// Records that the type asked for member `name` of this object.
    func request(_ name: String) {
        requests?.request(name)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw mismatch([String: Any].self, at: codingPath, found: value)
        }
        if let requests { check?.cover(requests) }
        return KeyedDecodingContainer(JSONValueKeyedContainer<Key>(members: members, decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw mismatch([Any].self, at: codingPath, found: value)
        }
        return JSONValueUnkeyedContainer(elements: elements, decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    /// Decodes `T` from `value`, converting the types `JSONDecoder` treats specially.
    func decodeAny<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self, let json = value as? T { return json }
        if T.self == Decimal.self {
            guard case .number(let literal) = value else { throw mismatch(T.self, at: codingPath, found: value) }
            guard let decimal = Decimal(string: literal, locale: Locale(identifier: "en_US_POSIX")) else {
                throw Self.unrepresentable(literal, as: T.self, at: codingPath)
            }
            if let result = decimal as? T { return result }
        }
        if T.self == UUID.self, let result = try Self.uuid(value, at: codingPath) as? T { return result }
        if T.self == Data.self {
            guard case .string(let text) = value else { throw mismatch(T.self, at: codingPath, found: value) }
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "Expected base64 data"))
            }
            if let result = data as? T { return result }
        }
        if readers, let result = try readSelf(value, as: T.self, codingPath: codingPath, strict: check != nil) {
            return result
        }
        guard check != nil else { return try T(from: self) }
        // The objects `T` opens are checked once it has asked for all it wants; nested values
        // decoded through here are checked by their own, inner call.
        let ownCheck = UnknownMemberCheck()
        let result = try T(from: JSONValueDecoder(value: value, codingPath: codingPath, check: ownCheck, requests: requests,
                                                  readers: readers))
        try ownCheck.verify()
        return result
    }

    func decodeInteger<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        try Self.integer(value, as: type, at: codingPath)
    }

    func decodeFloatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type) throws -> T {
        try Self.floatingPoint(value, as: type, at: codingPath)
    }

    // The scalar conversions, shared by the decoder's own single value and by a keyed
    // container's members (which convert without a decoder of their own). `codingPath` is only
    // evaluated for an error.

    static func string(_ value: JSONValue, at codingPath: @autoclosure () -> [any CodingKey]) throws -> String {
        guard case .string(let text) = value else { throw mismatch(String.self, at: codingPath(), found: value) }
        return text
    }

    /// Foundation's own `UUID.init(from:)` parses with `sscanf`; the same errors.
    static func uuid(_ value: JSONValue, at codingPath: @autoclosure () -> [any CodingKey]) throws -> UUID {
        guard case .string(let text) = value else { throw mismatch(UUID.self, at: codingPath(), found: value) }
        guard let uuid = UUIDText.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath(),
                                                    debugDescription: "Attempted to decode UUID from invalid UUID string."))
        }
        return uuid
    }

    static func bool(_ value: JSONValue, at codingPath: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(Bool.self, at: codingPath(), found: value) }
        return flag
    }

    static func integer<T: FixedWidthInteger>(_ value: JSONValue, as type: T.Type,
                                              at codingPath: @autoclosure () -> [any CodingKey]) throws -> T {
        guard case .number(let literal) = value else { throw mismatch(T.self, at: codingPath(), found: value) }
        if let exact = T(literal) { return exact }
        // `1e2` or `100.0` name an integer too; below 2^53 a double holds it exactly.
        if let double = Double(literal), double.rounded() == double, abs(double) < 0x1p53,
           let exact = T(exactly: double)
        {
            return exact
        }
        throw unrepresentable(literal, as: T.self, at: codingPath())
    }

    static func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(
        _ value: JSONValue, as type: T.Type, at codingPath: @autoclosure () -> [any CodingKey]
    ) throws -> T {
        guard case .number(let literal) = value else { throw mismatch(T.self, at: codingPath(), found: value) }
        guard let number = T(literal), number.isFinite else { throw unrepresentable(literal, as: T.self, at: codingPath()) }
        return number
    }

    private static func unrepresentable(_ literal: String, as type: Any.Type, at codingPath: [any CodingKey]) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "Number does not fit \(type)"))
    }
}

func mismatch(_ type: Any.Type, at codingPath: [any CodingKey], found value: JSONValue) -> DecodingError {
    let found = switch value {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
    if case .null = value {
        return .valueNotFound(type, .init(codingPath: codingPath, debugDescription: "Expected \(type) but found null"))
    }
    return .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "Expected \(type) but found \(found)"))
}

extension JSONValueDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value.isNull }

    func decode(_ type: Bool.Type) throws -> Bool { try Self.bool(value, at: codingPath) }
    func decode(_ type: String.Type) throws -> String { try Self.string(value, at: codingPath) }

    func decode(_ type: Double.Type) throws -> Double { try decodeFloatingPoint(type) }
    func decode(_ type: Float.Type) throws -> Float { try decodeFloatingPoint(type) }
    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeAny(type) }
}

/// An array index as a coding key.
struct JSONIndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }

    init(index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}

/// A member name as a coding key, for `superDecoder()` and unknown members.
struct JSONNameKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

struct JSONValueKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    /// The decoder of the object itself, which records the members asked for.
    let decoder: JSONValueDecoder

    var codingPath: [any CodingKey] { decoder.codingPath }

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool {
        decoder.request(key.stringValue)
        return members[key.stringValue] != nil
    }

    /// The member's value, recorded as asked for; `keyNotFound` when absent.
    private func value(_ key: Key) throws -> JSONValue {
        decoder.request(key.stringValue)
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "Missing member \(key.stringValue)"))
        }
        return value
    }

    /// A decoder for the member (for values that open containers or decode themselves).
    private func member(_ key: Key) throws -> JSONValueDecoder {
        decoder.child(try value(key), key: key)
    }

    // Scalars convert from the member's value directly: no decoder, no coding path unless an
    // error needs one (a vehicle page has ~300 of them).

    func decodeNil(forKey key: Key) throws -> Bool { try value(key).isNull }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try JSONValueDecoder.bool(value(key), at: codingPath + [key])
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try JSONValueDecoder.string(value(key), at: codingPath + [key])
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try floatingPoint(type, forKey: key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try floatingPoint(type, forKey: key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(type, forKey: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(type, forKey: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(type, forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(type, forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(type, forKey: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(type, forKey: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(type, forKey: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(type, forKey: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(type, forKey: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(type, forKey: key) }

    private func integer<T: FixedWidthInteger>(_ type: T.Type, forKey key: Key) throws -> T {
        try JSONValueDecoder.integer(value(key), as: type, at: codingPath + [key])
    }

    private func floatingPoint<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type, forKey key: Key) throws -> T {
        try JSONValueDecoder.floatingPoint(value(key), as: type, at: codingPath + [key])
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decode(type, value(key), forKey: key) }

    /// `value` of member `key` as `T`. Ids and dates, the members most results hold besides
    /// scalars, convert here as scalars do, with the errors their own decoding would give;
    /// anything else gets a decoder of its own.
    private func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue, forKey key: Key) throws -> T {
        if T.self == UUID.self, let result = try JSONValueDecoder.uuid(value, at: codingPath + [key]) as? T {
            return result
        }
        if T.self == Date.self {
            // `Date`'s own decoding (JSONDecoder's default strategy): a number of seconds since
            // the reference date, read as a `Double`.
            let seconds = try JSONValueDecoder.floatingPoint(value, as: Double.self, at: codingPath + [key])
            if let result = Date(timeIntervalSinceReferenceDate: seconds) as? T { return result }
        }
        return try decoder.child(value, key: key).decodeAny(type)
    }

    // An optional member: one lookup (the protocol's default asks `contains`, `decodeNil` and
    // `decode` in turn, three), recorded as asked for; absent or null is nil.

    /// The member's value, recorded as asked for; nil when absent or null.
    private func presentValue(_ key: Key) -> JSONValue? {
        decoder.request(key.stringValue)
        guard let value = members[key.stringValue], !value.isNull else { return nil }
        return value
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = presentValue(key) else { return nil }
        return try decode(type, value, forKey: key)
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let value = presentValue(key) else { return nil }
        return try JSONValueDecoder.string(value, at: codingPath + [key])
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let value = presentValue(key) else { return nil }
        return try JSONValueDecoder.bool(value, at: codingPath + [key])
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard let value = presentValue(key) else { return nil }
        return try JSONValueDecoder.floatingPoint(value, as: type, at: codingPath + [key])
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let value = presentValue(key) else { return nil }
        return try JSONValueDecoder.integer(value, as: type, at: codingPath + [key])
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        guard let value = presentValue(key) else { return nil }
        return try JSONValueDecoder.integer(value, as: type, at: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try member(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try member(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        try superDecoder(at: JSONNameKey(stringValue: "super"))
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try superDecoder(at: key)
    }

    private func superDecoder(at key: any CodingKey) throws -> any Decoder {
        decoder.request(key.stringValue)
        return decoder.child(members[key.stringValue] ?? .null, key: key)
    }
}

struct JSONValueUnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    /// The decoder of the array itself; elements decode as strictly as it does.
    let decoder: JSONValueDecoder
    private(set) var currentIndex = 0

    init(elements: [JSONValue], decoder: JSONValueDecoder) {
        self.elements = elements
        self.decoder = decoder
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// A decoder for the next element; only advances when `body` succeeds.
    /// The error for asking past the last element.
    private func tooFewElements(_ type: Any.Type) -> DecodingError {
        .valueNotFound(type, .init(codingPath: codingPath + [JSONIndexKey(index: currentIndex)],
                                   debugDescription: "Array has too few elements"))
    }

    private mutating func next<T>(_ type: Any.Type, _ body: (JSONValueDecoder) throws -> T) throws -> T {
        guard !isAtEnd else { throw tooFewElements(type) }
        let result = try body(decoder.child(elements[currentIndex], key: JSONIndexKey(index: currentIndex)))
        currentIndex += 1
        return result
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw tooFewElements(Any?.self) }
        if elements[currentIndex].isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decodeNext<T: Decodable>(_ type: T.Type) throws -> T { try next(type) { try $0.decode(type) } }

    /// The next element converted by `convert` (a scalar conversion of ``JSONValueDecoder``)
    /// without a decoder of its own; the same errors, at the element's coding path.
    private mutating func nextScalar<T>(_ type: T.Type,
                                        _ convert: (JSONValue, @autoclosure () -> [any CodingKey]) throws -> T) throws -> T {
        guard !isAtEnd else { throw tooFewElements(type) }
        let index = currentIndex
        let result = try convert(elements[index], codingPath + [JSONIndexKey(index: index)])
        currentIndex += 1
        return result
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try nextScalar(type) { try JSONValueDecoder.bool($0, at: $1()) } }
    mutating func decode(_ type: String.Type) throws -> String {
        try nextScalar(type) { try JSONValueDecoder.string($0, at: $1()) }
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        try nextScalar(type) { try JSONValueDecoder.floatingPoint($0, as: type, at: $1()) }
    }
    mutating func decode(_ type: Float.Type) throws -> Float { try decodeNext(type) }
    mutating func decode(_ type: Int.Type) throws -> Int {
        try nextScalar(type) { try JSONValueDecoder.integer($0, as: type, at: $1()) }
    }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try decodeNext(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try decodeNext(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try decodeNext(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try decodeNext(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try decodeNext(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeNext(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeNext(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeNext(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeNext(type) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // `[String]` asks for its elements through this generic entry, not the `String` one.
        if T.self == String.self, let element = try decode(String.self) as? T { return element }
        return try next(type) { try $0.decodeAny(type) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next([String: Any].self) { try $0.container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next([Any].self) { try $0.unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try next(Any.self) { $0 }
    }
}
