import FoundationEssentials
import NIOConcurrencyHelpers

/// HTTP headers a handler adds to its reply (e.g. `Server-Timing`, the WAL position of a
/// write). The server installs one per request as ``current`` around the dispatcher and sends
/// what handlers added; outside a server (unit tests) ``current`` is nil and adding is a no-op.
public final class RPCResponseHeaders: @unchecked Sendable {
    // Guarded by `lock`: a handler may add from tasks it started.
    private let lock = NIOLock()
    private var values: [(String, String)] = []

    @TaskLocal public static var current: RPCResponseHeaders?

    public init() {}

    /// Adds a header to the current request's reply, if there is one.
    public static func add(_ name: String, _ value: String) {
        current?.append(name, value)
    }

    public func append(_ name: String, _ value: String) {
        lock.withLock { values.append((name, value)) }
    }

    public var all: [(String, String)] { lock.withLock { values } }
}

/// What a client call learned from the reply's headers besides the JSON-RPC body. An
/// ``RPCClient`` fills the ``current`` instance of the calling task, if any.
public final class RPCReplyMetadata: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NIOLock()
    private var writeLSN: String?
    private var timing: String?

    @TaskLocal public static var current: RPCReplyMetadata?

    public init() {}

    /// `X-MovR-LSN` of the last reply that carried one: the WAL position after a write.
    public var lsn: String? {
        get { lock.withLock { writeLSN } }
        set { lock.withLock { writeLSN = newValue } }
    }

    /// `Server-Timing` of the last reply (its entries joined by ", ").
    public var serverTiming: String? {
        get { lock.withLock { timing } }
        set { lock.withLock { timing = newValue } }
    }
}
