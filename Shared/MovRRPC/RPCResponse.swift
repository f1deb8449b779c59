/// One JSON-RPC 2.0 response object.
public enum RPCResponse: Sendable, Hashable {
    case success(id: RPCID, result: JSONValue)
    case failure(id: RPCID, error: RPCError)

    public var id: RPCID {
        switch self {
        case .success(let id, _), .failure(let id, _): id
        }
    }

    public var jsonValue: JSONValue {
        switch self {
        case .success(let id, let result):
            .object(["jsonrpc": "2.0", "result": result, "id": id.jsonValue])
        case .failure(let id, let error):
            .object(["jsonrpc": "2.0", "error": error.jsonValue, "id": id.jsonValue])
        }
    }

    public func serialized() -> [UInt8] { jsonValue.serialized() }
}
