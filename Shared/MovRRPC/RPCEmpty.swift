/// Params of a method that takes none: accepts absent params or an empty object (the server's decoder refuses unknown keys).
public struct RPCEmptyParams: Decodable, Sendable, Hashable {
    public init() {}

    public init(from decoder: any Decoder) throws {
        // Requiring a keyed container rejects by-position (array) and scalar params.
        _ = try decoder.container(keyedBy: AnyKey.self)
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// A result with nothing to say; encodes as `{}`.
public struct RPCEmpty: Codable, Sendable, Hashable {
    public init() {}

    public init(from decoder: any Decoder) throws {
        _ = try decoder.container(keyedBy: NoKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: NoKeys.self)
    }

    private enum NoKeys: CodingKey {}
}
