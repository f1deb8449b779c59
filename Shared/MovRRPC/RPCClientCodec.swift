/// Builds request bodies for a JSON-RPC client.
public enum RPCRequestEncoder {
    /// A request object; a notification when `id` is `nil`.
    public static func encode(method: String, params: JSONValue?, id: RPCID?) -> [UInt8] {
        RPCRequest(method: method, params: params, id: id).jsonValue.serialized()
    }

    /// A request object with typed params (encoded through `JSONEncoder`).
    public static func encode(method: String, encoding params: some Encodable, id: RPCID?) throws -> [UInt8] {
        RPCRequest(method: method, params: try JSONValue(encoding: params), id: id).jsonValue.serialized()
    }
}

/// Reads response bodies for a JSON-RPC client.
public enum RPCResponseDecoder {
    /// The outcome of a single (non-batch) response: its `result`, or the server's error.
    ///
    /// - Parameter expectedID: when given, a response answering another id is malformed.
    /// - Throws: ``RPCError`` with code -32603 and reason `malformed_response` when the body is
    ///   not a valid JSON-RPC 2.0 response.
    public static func decode(
        body: [UInt8], expectedID: RPCID? = nil, limits: JSONLimits = JSONLimits()
    ) throws(RPCError) -> Result<JSONValue, RPCError> {
        let json: JSONValue
        do {
            json = try JSONValue.parse(body, limits: limits)
        } catch {
            throw malformed
        }
        guard case .object(let members) = json, members["jsonrpc"] == .string("2.0"),
              let rawID = members["id"], let id = RPCID(rawID)
        else { throw malformed }
        if let expectedID, id != expectedID, id != .null { throw malformed }

        switch (members["result"], members["error"]) {
        case (let result?, nil):
            return .success(result)
        case (nil, .object(let error)?):
            guard let code = error["code"]?.intValue, case .string(let message)? = error["message"] else {
                throw malformed
            }
            // Unknown `data` shapes from foreign servers are dropped rather than failing the call.
            let data = error["data"].flatMap { try? $0.decode(as: RPCErrorData.self) }
            return .failure(RPCError(code: code, message: message, data: data))
        default:
            throw malformed
        }
    }

    private static var malformed: RPCError {
        RPCError(code: RPCError.Code.internalError, message: "Internal error", reason: "malformed_response")
    }
}
