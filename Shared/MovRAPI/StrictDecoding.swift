/// A key read from the payload as-is, to list what a client actually sent.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

enum StrictDecoding {
    static let unknownFieldMessage = "unknown field"
}

extension Decoder {
    /// A keyed container that first fails on any key `Key` does not name, with the coding path
    /// ending at that key, so the error reports exactly which field is not allowed.
    public func strictContainer<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let raw = try container(keyedBy: AnyCodingKey.self)
        // Sorted so the reported key does not depend on dictionary order.
        let unknown = raw.allKeys.filter { Key(stringValue: $0.stringValue) == nil }
            .sorted { $0.stringValue < $1.stringValue }
        if let first = unknown.first {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [first],
                                                    debugDescription: StrictDecoding.unknownFieldMessage))
        }
        return try container(keyedBy: type)
    }
}
