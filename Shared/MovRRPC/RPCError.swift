/// Machine-readable details of an ``RPCError``, sent as the error's `data` member.
public struct RPCErrorData: Sendable, Hashable, Codable {
    /// A snake_case reason such as `username_taken`.
    public var reason: String?
    /// Whether the same request may succeed if sent again later.
    public var retryable: Bool
    /// The id of the request that failed, for correlating with server logs.
    public var requestID: String?
    /// The parameter at fault, as a coding path such as `location.latitude`.
    public var field: String?

    public init(reason: String? = nil, retryable: Bool = false, requestID: String? = nil, field: String? = nil) {
        self.reason = reason
        self.retryable = retryable
        self.requestID = requestID
        self.field = field
    }

    enum CodingKeys: String, CodingKey {
        case reason, retryable, field
        case requestID = "request_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        reason = try container.decodeIfPresent(String.self, forKey: .reason)
        retryable = try container.decodeIfPresent(Bool.self, forKey: .retryable) ?? false
        requestID = try container.decodeIfPresent(String.self, forKey: .requestID)
        field = try container.decodeIfPresent(String.self, forKey: .field)
    }

    var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["retryable": .bool(retryable)]
        if let reason { members["reason"] = .string(reason) }
        if let requestID { members["request_id"] = .string(requestID) }
        if let field { members["field"] = .string(field) }
        return .object(members)
    }
}

/// A JSON-RPC error object: what a handler throws to fail a call and what a client receives.
///
/// Messages are short and meant for humans; they never carry internals. Programs branch on
/// `code` and `data.reason`.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: RPCErrorData?

    /// Error codes: the JSON-RPC 2.0 reserved ones, then the application ones mirroring HTTP.
    public enum Code {
        public static let parseError = -32700
        public static let invalidRequest = -32600
        public static let methodNotFound = -32601
        public static let invalidParams = -32602
        public static let internalError = -32603
        public static let unauthenticated = 401
        public static let forbidden = 403
        public static let notFound = 404
        public static let conflict = 409
        public static let rateLimited = 429
        public static let unavailable = 503
        public static let deadlineExceeded = 504
    }

    public init(code: Int, message: String, data: RPCErrorData?) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// An error with `data` built from the given details.
    public init(code: Int, message: String, reason: String? = nil, retryable: Bool = false, field: String? = nil) {
        self.init(code: code, message: message,
                  data: RPCErrorData(reason: reason, retryable: retryable, field: field))
    }

    public var description: String {
        var text = "RPCError(\(code)): \(message)"
        if let reason = data?.reason { text += " [\(reason)]" }
        if let field = data?.field { text += " field=\(field)" }
        return text
    }

    // MARK: JSON-RPC 2.0

    public static func parseError(reason: String = "invalid_json") -> RPCError {
        RPCError(code: Code.parseError, message: "Parse error", reason: reason)
    }

    public static func invalidRequest(reason: String = "invalid_request") -> RPCError {
        RPCError(code: Code.invalidRequest, message: "Invalid Request", reason: reason)
    }

    /// The method is unknown. Its name is not repeated back, as it is caller input.
    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: Code.methodNotFound, message: "Method not found", reason: "method_not_found")
    }

    public static func invalidParams(field: String?, message: String = "Invalid params") -> RPCError {
        RPCError(code: Code.invalidParams, message: message, reason: "invalid_params", field: field)
    }

    public static var internalError: RPCError {
        RPCError(code: Code.internalError, message: "Internal error", reason: "internal_error")
    }

    // MARK: Application (mirroring HTTP)

    public static func unauthenticated(reason: String = "unauthenticated") -> RPCError {
        RPCError(code: Code.unauthenticated, message: "Unauthenticated", reason: reason)
    }

    public static func forbidden(reason: String = "forbidden") -> RPCError {
        RPCError(code: Code.forbidden, message: "Forbidden", reason: reason)
    }

    public static func notFound(reason: String) -> RPCError {
        RPCError(code: Code.notFound, message: "Not found", reason: reason)
    }

    public static func conflict(reason: String) -> RPCError {
        RPCError(code: Code.conflict, message: "Conflict", reason: reason)
    }

    public static func rateLimited(reason: String = "rate_limited") -> RPCError {
        RPCError(code: Code.rateLimited, message: "Too many requests", reason: reason, retryable: true)
    }

    public static func unavailable(reason: String = "unavailable") -> RPCError {
        RPCError(code: Code.unavailable, message: "Service unavailable", reason: reason, retryable: true)
    }

    public static func deadlineExceeded(reason: String = "deadline_exceeded") -> RPCError {
        RPCError(code: Code.deadlineExceeded, message: "Deadline exceeded", reason: reason, retryable: true)
    }

    /// The error object as sent on the wire.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["code": JSONValue(code), "message": .string(message)]
        if let data { members["data"] = data.jsonValue }
        return .object(members)
    }

    /// This error with `data.request_id` set, unless it already names one.
    func tagged(requestID: String) -> RPCError {
        var copy = self
        var data = copy.data ?? RPCErrorData()
        if data.requestID == nil { data.requestID = requestID }
        copy.data = data
        return copy
    }
}
