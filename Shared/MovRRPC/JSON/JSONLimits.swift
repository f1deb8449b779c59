/// Bounds the parser enforces so hostile input costs bounded memory and stack.
public struct JSONLimits: Sendable, Hashable {
    /// Maximum number of nested arrays/objects; `[]` has depth 1, a bare scalar depth 0.
    public var maxDepth: Int
    /// Maximum size of the whole document in bytes.
    public var maxBytes: Int
    /// Maximum size of one decoded string (or object key) in UTF-8 bytes.
    public var maxStringBytes: Int

    public init(maxDepth: Int = 64, maxBytes: Int = 1 << 20, maxStringBytes: Int = 1 << 20) {
        self.maxDepth = maxDepth
        self.maxBytes = maxBytes
        self.maxStringBytes = maxStringBytes
    }

    /// Generous bounds for documents this process produced itself (e.g. `JSONEncoder` output).
    public static let trusted = JSONLimits(maxDepth: 512, maxBytes: .max, maxStringBytes: .max)
}
