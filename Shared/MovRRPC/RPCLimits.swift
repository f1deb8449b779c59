/// Bounds every listener applies to a JSON-RPC request body.
public struct RPCLimits: Sendable, Hashable {
    public var maxBodyBytes: Int
    /// Maximum nesting of arrays/objects in the body, envelope included.
    public var maxDepth: Int
    /// Maximum number of entries in one batch.
    public var maxBatch: Int

    public init(maxBodyBytes: Int = 1 << 20, maxDepth: Int = 64, maxBatch: Int = 50) {
        self.maxBodyBytes = maxBodyBytes
        self.maxDepth = maxDepth
        self.maxBatch = maxBatch
    }

    var json: JSONLimits {
        JSONLimits(maxDepth: maxDepth, maxBytes: maxBodyBytes, maxStringBytes: maxBodyBytes)
    }
}
