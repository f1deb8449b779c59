import FoundationEssentials
import Logging
import MovRUUID
import Synchronization

/// What a handler knows about the call besides its params.
public struct RPCContext: Sendable {
    /// Correlates the call across services and logs (from `traceparent` or generated).
    public var requestID: String
    /// The calling service's identity from its mTLS certificate; `nil` on public listeners.
    public var caller: String?
    /// The client's IP address (the TCP peer, or what a trusted load balancer reports), for
    /// per-client limits; `nil` when unknown.
    public var clientAddress: String?
    /// Request headers, names lowercased.
    public var headers: RequestHeaders
    /// When the caller stops waiting; handlers should give up after it.
    public var deadline: ContinuousClock.Instant?
    /// A logger carrying `request_id` (and, for an identified caller, `caller`) metadata. Built
    /// when read: handlers log only on their error paths, and attaching the metadata up front
    /// copied the logger's metadata dictionary on every request of every hop.
    public var logger: Logger {
        get {
            var logger = baseLogger
            logger[metadataKey: "request_id"] = .string(requestID)
            if let caller { logger[metadataKey: "caller"] = .string(caller) }
            return logger
        }
        set { baseLogger = newValue }
    }
    private var baseLogger: Logger
    /// Where a public listener collects the regions whose services answered this request (sent
    /// back as `X-MovR-Region`); nil on internal listeners, which report nothing.
    public var servedBy: ServedRegions?

    public init(
        requestID: String = UUIDText.lowercase(UUIDText.random()),
        caller: String? = nil,
        headers: [String: String] = [:],
        deadline: ContinuousClock.Instant? = nil,
        logger: Logger = Logger(label: "movr.rpc")
    ) {
        self.requestID = requestID
        self.caller = caller
        self.headers = RequestHeaders(headers.map { (name: $0.key.lowercased(), value: $0.value) })
        self.deadline = deadline
        self.baseLogger = logger
    }

    /// A context whose header names are already lowercase (the transport's fast path).
    public init(requestID: String, caller: String?, lowercasedHeaders: RequestHeaders,
                deadline: ContinuousClock.Instant?, logger: Logger) {
        self.requestID = requestID
        self.caller = caller
        self.headers = lowercasedHeaders
        self.deadline = deadline
        self.baseLogger = logger
    }

    /// The value of header `name` (any case).
    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// Whether the deadline has passed.
    public var isPastDeadline: Bool {
        guard let deadline else { return false }
        return ContinuousClock.now >= deadline
    }
}

/// A request's headers as they came, names lowercased: a list, not a dictionary (a request has
/// a handful and a handler reads two or three, so building a hash table per request costs more
/// than it saves). Repeated fields read as one value joined with commas, at lookup, so a request
/// with many repeats costs no quadratic joining up front.
public struct RequestHeaders: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)]

    /// `fields` with lowercase names.
    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0.lowercased(), value: $0.1) }
    }

    /// The value of the lowercase header `name`; repeated fields joined with ",".
    public subscript(name: String) -> String? {
        var found: String?
        for field in fields where field.name == name {
            found = found.map { $0 + "," + field.value } ?? field.value
        }
        return found
    }

    public static func == (left: RequestHeaders, right: RequestHeaders) -> Bool {
        left.fields.count == right.fields.count
            && zip(left.fields, right.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// The regions whose services a request reached, filled in by handlers (concurrently for a
/// batch) and read once the reply is written.
public final class ServedRegions: Sendable {
    // In the object: no lock object to allocate per request.
    private let regions = Mutex<[String]>([])

    public init() {}

    public func record(_ region: String) {
        regions.withLock { regions in
            if !regions.contains(region) { regions.append(region) }
        }
    }

    /// The recorded regions in the order first seen, comma-separated; nil when none.
    public var headerValue: String? {
        regions.withLock { $0.isEmpty ? nil : $0.joined(separator: ",") }
    }

    /// The recorded regions in the order first seen, read once (for writing them without
    /// joining them first).
    public func withRegions<R>(_ body: ([String]) -> R) -> R {
        regions.withLock { body($0) }
    }
}
