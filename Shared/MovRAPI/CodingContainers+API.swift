import FoundationEssentials
import MovRUUID

// How the API writes its scalar types: ids as lowercase UUID strings (Foundation's `uuidString`
// is uppercase), times through `RFC3339`, and absent optional values as an explicit `null`
// so every object always has the same set of keys.

extension KeyedEncodingContainer {
    /// Writes `id` as a lowercase UUID string.
    public mutating func encodeLowercase(_ id: UUID, forKey key: Key) throws {
        try encode(UUIDText.lowercase(id), forKey: key)
    }

    /// Writes `id` as a lowercase UUID string, or `null`.
    public mutating func encodeLowercaseOrNull(_ id: UUID?, forKey key: Key) throws {
        if let id { try encodeLowercase(id, forKey: key) } else { try encodeNil(forKey: key) }
    }

    /// Writes `id` as a lowercase UUID string, or nothing (for optional params).
    public mutating func encodeLowercaseIfPresent(_ id: UUID?, forKey key: Key) throws {
        if let id { try encodeLowercase(id, forKey: key) }
    }

    /// Writes `date` as an RFC 3339 UTC string with milliseconds.
    public mutating func encodeRFC3339(_ date: Date, forKey key: Key) throws {
        try encode(RFC3339.string(from: date), forKey: key)
    }

    /// Writes `date` as an RFC 3339 string, or `null`.
    public mutating func encodeRFC3339OrNull(_ date: Date?, forKey key: Key) throws {
        if let date { try encodeRFC3339(date, forKey: key) } else { try encodeNil(forKey: key) }
    }

    /// Writes `value`, or `null` — never omits the key.
    public mutating func encodeOrNull<Value: Encodable>(_ value: Value?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// Reads a UUID string (either case).
    public func decodeUUID(forKey key: Key) throws -> UUID {
        let text = try decode(String.self, forKey: key)
        guard let id = UUIDText.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "expected a UUID string")
        }
        return id
    }

    /// Reads a UUID string; nil when the key is missing or `null`.
    public func decodeUUIDIfPresent(forKey key: Key) throws -> UUID? {
        guard try contains(key) && !decodeNil(forKey: key) else { return nil }
        return try decodeUUID(forKey: key)
    }

    /// Reads an RFC 3339 date-time string.
    public func decodeRFC3339(forKey key: Key) throws -> Date {
        let text = try decode(String.self, forKey: key)
        guard let date = RFC3339.date(from: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self,
                                                   debugDescription: "expected an RFC 3339 time")
        }
        return date
    }

    /// Reads an RFC 3339 date-time string; nil when the key is missing or `null`.
    public func decodeRFC3339IfPresent(forKey key: Key) throws -> Date? {
        guard try contains(key) && !decodeNil(forKey: key) else { return nil }
        return try decodeRFC3339(forKey: key)
    }
}
