/// One JSON-RPC 2.0 request, or a notification when `id` is `nil`.
public struct RPCRequest: Sendable, Hashable {
    public var method: String
    /// By-name (object) or by-position (array) params; `nil` when the member is absent.
    public var params: JSONValue?
    /// `nil` means the request is a notification and gets no response.
    public var id: RPCID?

    public init(method: String, params: JSONValue? = nil, id: RPCID?) {
        self.method = method
        self.params = params
        self.id = id
    }

    public var isNotification: Bool { id == nil }

    /// The request as a JSON-RPC 2.0 request object.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { members["params"] = params }
        if let id { members["id"] = id.jsonValue }
        return .object(members)
    }

    /// Why a JSON value is not a valid request, with the id to answer under.
    struct Invalid: Error {
        var error: RPCError
        /// The request's id when it could be read, otherwise `.null` as the spec demands.
        var id: RPCID
    }

    /// Validates a request object per the spec's section 4.
    init(validating json: JSONValue) throws(Invalid) {
        guard case .object(let members) = json else {
            throw Invalid(error: .invalidRequest(reason: "not_an_object"), id: .null)
        }
        var id: RPCID?
        if let rawID = members["id"] {
            guard let valid = RPCID(rawID) else {
                throw Invalid(error: .invalidRequest(reason: "invalid_id"), id: .null)
            }
            id = valid
        }
        let answerID = id ?? .null
        guard members["jsonrpc"] == .string("2.0") else {
            throw Invalid(error: .invalidRequest(reason: "invalid_version"), id: answerID)
        }
        guard case .string(let method)? = members["method"] else {
            throw Invalid(error: .invalidRequest(reason: "invalid_method"), id: answerID)
        }
        let params = members["params"]
        switch params {
        case nil, .array?, .object?: break
        default: throw Invalid(error: .invalidRequest(reason: "invalid_params_type"), id: answerID)
        }
        self.init(method: method, params: params, id: id)
    }
}
