import NIOCore
import Testing

@testable import MovRRPC

@Suite("JSON-RPC client codec and error model")
struct RPCClientCodecTests {
    @Test("requests and notifications encode per the spec")
    func encodeRequest() throws {
        let request = try JSONValue.parse(RPCRequestEncoder.encode(method: "vehicles.get", params: ["id": "v1"], id: .string("7")))
        #expect(request == ["jsonrpc": "2.0", "method": "vehicles.get", "params": ["id": "v1"], "id": "7"])
        let notification = try JSONValue.parse(RPCRequestEncoder.encode(method: "tick", params: nil, id: nil))
        #expect(notification == ["jsonrpc": "2.0", "method": "tick"])
        let typed = try JSONValue.parse(try RPCRequestEncoder.encode(method: "m", encoding: SampleLocation(latitude: 1.5, longitude: 2), id: RPCID(3)))
        #expect(typed["params"]?["latitude"] == .number("1.5"))
        #expect(typed["id"] == 3)
    }

    @Test("a request encoded by the client is served by the dispatcher")
    func roundTrip() async throws {
        let body = RPCRequestEncoder.encode(method: "subtract", params: [42, 23], id: .number("1.50"))
        let reply = try #require(await specDispatcher().handle(body: body, context: RPCContext()))
        #expect(try RPCResponseDecoder.decode(body: reply, expectedID: .number("1.50")) == .success(19))
    }

    @Test("responses decode to a result or the server's error")
    func decodeResponse() throws {
        #expect(try RPCResponseDecoder.decode(body: Array(#"{"jsonrpc":"2.0","result":{"a":[1]},"id":1}"#.utf8)) == .success(["a": [1]]))
        #expect(try RPCResponseDecoder.decode(body: Array(#"{"jsonrpc":"2.0","result":null,"id":1}"#.utf8)) == .success(.null))
        let failure = try RPCResponseDecoder.decode(body: Array(
            #"{"jsonrpc":"2.0","error":{"code":409,"message":"Conflict","data":{"reason":"vehicle_in_use","retryable":false,"request_id":"r1"}},"id":"x"}"#.utf8))
        #expect(failure == .failure(RPCError(code: 409, message: "Conflict", data: RPCErrorData(reason: "vehicle_in_use", requestID: "r1"))))
        let foreign = try RPCResponseDecoder.decode(body: Array(#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found","data":"nope"},"id":null}"#.utf8))
        #expect(foreign == .failure(RPCError(code: -32601, message: "Method not found", data: nil)))
    }

    @Test("malformed responses throw an internal error", arguments: [
        "", "not json", "[]", #"[{"jsonrpc":"2.0","result":1,"id":1}]"#, #"{"result":1,"id":1}"#, #"{"jsonrpc":"1.0","result":1,"id":1}"#,
        #"{"jsonrpc":"2.0","result":1}"#, #"{"jsonrpc":"2.0","id":1}"#, #"{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"m"},"id":1}"#,
        #"{"jsonrpc":"2.0","error":{"message":"m"},"id":1}"#, #"{"jsonrpc":"2.0","error":{"code":1.5,"message":"m"},"id":1}"#,
        #"{"jsonrpc":"2.0","error":{"code":1},"id":1}"#, #"{"jsonrpc":"2.0","error":"boom","id":1}"#,
        #"{"jsonrpc":"2.0","result":1,"id":2}"#, #"{"jsonrpc":"2.0","result":1,"id":true}"#,
    ])
    func malformedResponse(body: String) {
        #expect {
            _ = try RPCResponseDecoder.decode(body: Array(body.utf8), expectedID: RPCID(1))
        } throws: { error in
            (error as? RPCError)?.code == -32603 && (error as? RPCError)?.data?.reason == "malformed_response"
        }
    }

    @Test("the dispatcher's success replies are taken by their frame, result bytes as written")
    func framedResultsOfTheDispatcher() async throws {
        var dispatcher = RPCDispatcher()
        let results: [JSONValue] = [
            ["vehicles": [["id": "v1", "battery": 87, "location": ["latitude": .number("40.7"), "longitude": .number("-74.0")]]], "next_cursor": .null],
            [1, "two", [3]], "a \"quoted\" }", 42, .number("-1.5"), 0, true, false, .null, [:], [],
        ]
        for (index, result) in results.enumerated() {
            dispatcher.register("r\(index)", params: RPCEmptyParams.self) { _, _ in result }
        }
        for index in results.indices {
            let body = try RPCRequestEncoder.encode(method: "r\(index)", encoding: [String: Int](), id: RPCID(1))
            let reply = ByteBuffer(bytes: try #require(await dispatcher.handle(body: body, context: RPCContext())))
            let framed = try #require(RPCResponseDecoder.framedResult(body: reply, id: RPCID(1), maxBytes: 1 << 20))
            #expect(try framed.parsed() == results[index])
            // The same bytes the full decoder validates and keeps.
            #expect(try RPCResponseDecoder.decodeRaw(body: reply, expectedID: RPCID(1)).get().bytes == framed.bytes)
        }
    }

    @Test("replies in any other frame are left to the full decoder", arguments: [
        // errors, other ids, other member orders, whitespace, no id, truncation
        #"{"jsonrpc":"2.0","error":{"code":409,"message":"Conflict"},"id":1}"#,
        #"{"jsonrpc":"2.0","result":1,"id":2}"#, #"{"jsonrpc":"2.0","result":1,"id":11}"#,
        #"{"jsonrpc":"2.0","result":1,"id":"1"}"#, #"{"jsonrpc":"2.0","result":1,"id":null}"#,
        #"{"jsonrpc":"2.0","id":1,"result":1}"#, #"{"result":1,"jsonrpc":"2.0","id":1}"#,
        #"{"jsonrpc": "2.0","result":1,"id":1}"#, #"{"jsonrpc":"2.0","result":1,"id":1} "#,
        #"{"jsonrpc":"2.0","result":1 ,"id":1}"#, #"{"jsonrpc":"2.0","result":,"id":1}"#,
        #"{"jsonrpc":"2.0","result":1}"#, #"{"jsonrpc":"2.0","result":{"a":1,"id":1}"#,
        #"{"jsonrpc":"2.0","result":[1,"id":1}"#, #"{"jsonrpc":"2.0","result":"x,"id":1}"#,
        #"{"jsonrpc":"2.0","result":nul,"id":1}"#, #"{"jsonrpc":"2.0","result":1.,"id":1}"#,
        #"{"jsonrpc":"2.0","result":x,"id":1}"#, #"{"jsonrpc":"2.0","result":","id":1}"#,
        #"{"jsonrpc":"2.0","result":nulll,"id":1}"#, #"{"jsonrpc":"2.0","result":tru,"id":1}"#, #"{"jsonrpc":"2.0","result""#, "", "{}",
    ])
    func otherFrames(body: String) {
        #expect(RPCResponseDecoder.framedResult(body: ByteBuffer(string: body), id: RPCID(1), maxBytes: 1 << 20) == nil)
    }

    @Test("a framed reply over the reply limit is not taken")
    func framedReplyOverTheLimit() {
        let body = ByteBuffer(string: #"{"jsonrpc":"2.0","result":"\#(String(repeating: "x", count: 100))","id":1}"#)
        #expect(RPCResponseDecoder.framedResult(body: body, id: RPCID(1), maxBytes: body.readableBytes) != nil)
        #expect(RPCResponseDecoder.framedResult(body: body, id: RPCID(1), maxBytes: body.readableBytes - 1) == nil)
        #expect(RPCResponseDecoder.framedResult(body: body, id: .string("1"), maxBytes: 1 << 20) == nil)
    }

    @Test("error constructors carry the contract's codes")
    func errorCodes() {
        let cases: [(RPCError, Int, String?, Bool)] = [
            (.parseError(), -32700, "invalid_json", false), (.invalidRequest(), -32600, "invalid_request", false),
            (.methodNotFound("x"), -32601, "method_not_found", false), (.invalidParams(field: "a"), -32602, "invalid_params", false),
            (.internalError, -32603, "internal_error", false), (.unauthenticated(), 401, "unauthenticated", false),
            (.forbidden(), 403, "forbidden", false), (.notFound(reason: "ride_not_found"), 404, "ride_not_found", false),
            (.conflict(reason: "username_taken"), 409, "username_taken", false), (.rateLimited(), 429, "rate_limited", true),
            (.unavailable(), 503, "unavailable", true), (.deadlineExceeded(), 504, "deadline_exceeded", true),
        ]
        for (error, code, reason, retryable) in cases {
            #expect(error.code == code)
            #expect(error.data?.reason == reason)
            #expect(error.data?.retryable == retryable)
            #expect(!error.message.isEmpty)
        }
    }

    @Test("error data uses snake_case keys and omits absent members")
    func errorEncoding() throws {
        let full = RPCError(code: 400, message: "Bad", data: RPCErrorData(reason: "r", retryable: true, requestID: "q", field: "f"))
        #expect(full.jsonValue == ["code": 400, "message": "Bad", "data": ["reason": "r", "retryable": true, "request_id": "q", "field": "f"]])
        let sparse = RPCError(code: 400, message: "Bad", reason: nil)
        #expect(sparse.jsonValue == ["code": 400, "message": "Bad", "data": ["retryable": false]])
        #expect(RPCError(code: 1, message: "m", data: nil).jsonValue == ["code": 1, "message": "m"])
        #expect(try JSONValue(encoding: full.data!) == full.jsonValue["data"])
    }
}
