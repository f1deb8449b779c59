import FoundationEssentials
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// HTTP headers a handler adds to its reply (e.g. `Server-Timing`, the WAL position of a
/// write). The server installs one per request as ``current`` around the dispatcher and sends
/// what handlers added; outside a server (unit tests) ``current`` is nil and adding is a no-op.
public final class RPCResponseHeaders: Sendable {
    /// One service call of the request, as a `Server-Timing` entry:
    /// `local;desc="us-east1 vehicles.list";dur=0.3` (`remote` for another region's service).
    /// Kept as parts and written as bytes when the reply is, not formatted per call.
    public struct ServerTiming: Sendable, Equatable {
        public var isLocal: Bool
        public var target: String
        public var method: String
        /// Tenths of a millisecond.
        public var tenths: Int64

        public init(isLocal: Bool, target: String, method: String, tenths: Int64) {
            self.isLocal = isLocal
            self.target = target
            self.method = method
            self.tenths = tenths
        }

        /// Writes the entry (a negative duration as zero): the reply's bytes and ``text`` both
        /// come from here.
        public func write(into buffer: inout ByteBuffer) {
            if isLocal { buffer.writeStaticString("local;desc=\"") } else { buffer.writeStaticString("remote;desc=\"") }
            buffer.writeString(target)
            buffer.writeInteger(UInt8(ascii: " "))
            buffer.writeString(method)
            buffer.writeStaticString("\";dur=")
            let tenths = max(0, tenths)
            buffer.writeString(String(tenths / 10))
            buffer.writeInteger(UInt8(ascii: "."))
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(tenths % 10))
        }

        /// The entry's text (what the reply carries).
        public var text: String {
            var buffer = ByteBuffer()
            write(into: &buffer)
            return String(buffer: buffer)
        }
    }

    private struct State {
        var values: [(String, String)] = []
        var timings: [ServerTiming] = []
    }

    // A handler may add from tasks it started. The mutex lives in the object (no second
    // allocation per request, as a lock object would be).
    private let state = Mutex(State())

    @TaskLocal public static var current: RPCResponseHeaders?

    public init() {}

    /// Adds a header to the current request's reply, if there is one. A service call's
    /// timing goes through `add(_ timing:)` instead, which joins the one
    /// `Server-Timing` header.
    public static func add(_ name: String, _ value: String) {
        current?.append(name, value)
    }

    /// Adds a service call's `Server-Timing` entry to the current request's reply, if any.
    public static func add(_ timing: ServerTiming) {
        current?.state.withLock { $0.timings.append(timing) }
    }

    public func append(_ name: String, _ value: String) {
        state.withLock { $0.values.append((name, value)) }
    }

    /// The headers added, then one `server-timing` pair per service call's entry.
    public var all: [(String, String)] {
        state.withLock { state in state.values + state.timings.map { ("server-timing", $0.text) } }
    }

    /// The headers added (but the service calls' timings) and the timings, read once.
    public func withContents<R>(_ body: ([(String, String)], [ServerTiming]) -> R) -> R {
        state.withLock { body($0.values, $0.timings) }
    }
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
