import Testing

@testable import MovRRPC

/// `subtract` from the spec: by-position `[minuend, subtrahend]` or by-name.
struct SubtractParams: Decodable, Sendable {
    var minuend: Int
    var subtrahend: Int

    enum CodingKeys: String, CodingKey { case minuend, subtrahend }

    init(from decoder: any Decoder) throws {
        if var positional = try? decoder.unkeyedContainer() {
            minuend = try positional.decode(Int.self)
            subtrahend = try positional.decode(Int.self)
        } else {
            let named = try decoder.container(keyedBy: CodingKeys.self)
            minuend = try named.decode(Int.self, forKey: .minuend)
            subtrahend = try named.decode(Int.self, forKey: .subtrahend)
        }
    }
}

/// The methods the examples of https://www.jsonrpc.org/specification call.
func specDispatcher() -> RPCDispatcher {
    var dispatcher = RPCDispatcher()
    dispatcher.register("subtract", params: SubtractParams.self) { params, _ in params.minuend - params.subtrahend }
    dispatcher.register("sum", params: [Int].self) { numbers, _ in numbers.reduce(0, +) }
    dispatcher.register("update", params: [Int].self) { _, _ in RPCEmpty() }
    dispatcher.register("notify_sum", params: [Int].self) { numbers, _ in numbers.reduce(0, +) }
    dispatcher.register("notify_hello", params: [Int].self) { _, _ in RPCEmpty() }
    dispatcher.register("get_data", params: RPCEmptyParams.self) { _, _ in JSONValue.array(["hello", 5]) }
    return dispatcher
}

@Suite("JSON-RPC 2.0 specification examples")
struct RPCSpecExampleTests {
    let dispatcher = specDispatcher()

    private func expectExchange(_ request: String, _ expected: String?, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let reply = try await respond(dispatcher, request)
        let wanted = try expected.map(parseJSON)
        #expect(reply.map(withoutErrorData) == wanted, sourceLocation: sourceLocation)
    }

    @Test("rpc call with positional parameters")
    func positional() async throws {
        try await expectExchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
                                 #"{"jsonrpc": "2.0", "result": 19, "id": 1}"#)
        try await expectExchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
                                 #"{"jsonrpc": "2.0", "result": -19, "id": 2}"#)
    }

    @Test("rpc call with named parameters")
    func named() async throws {
        try await expectExchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
                                 #"{"jsonrpc": "2.0", "result": 19, "id": 3}"#)
        try await expectExchange(#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
                                 #"{"jsonrpc": "2.0", "result": 19, "id": 4}"#)
    }

    @Test("a Notification")
    func notification() async throws {
        try await expectExchange(#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#, nil)
        try await expectExchange(#"{"jsonrpc": "2.0", "method": "foobar"}"#, nil)
    }

    @Test("rpc call of non-existent method")
    func nonExistentMethod() async throws {
        try await expectExchange(#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
                                 #"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}"#)
    }

    @Test("rpc call with invalid JSON")
    func invalidJSON() async throws {
        try await expectExchange(#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
                                 #"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#)
    }

    @Test("rpc call with invalid Request object")
    func invalidRequestObject() async throws {
        try await expectExchange(#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
                                 #"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#)
    }

    @Test("rpc call Batch, invalid JSON")
    func batchInvalidJSON() async throws {
        try await expectExchange(
            #"""
            [
              {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
              {"jsonrpc": "2.0", "method"
            ]
            """#,
            #"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#)
    }

    @Test("rpc call with an empty Array")
    func emptyBatch() async throws {
        try await expectExchange("[]", #"{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}"#)
    }

    @Test("rpc call with an invalid Batch (but not empty)")
    func invalidBatchOfOne() async throws {
        try await expectExchange("[1]", #"[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]"#)
    }

    @Test("rpc call with invalid Batch")
    func invalidBatch() async throws {
        try await expectExchange("[1,2,3]", #"""
            [
              {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
              {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
              {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}
            ]
            """#)
    }

    @Test("rpc call Batch")
    func batch() async throws {
        try await expectExchange(
            #"""
            [
                {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
                {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
                {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
                {"foo": "boo"},
                {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
                {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
            ]
            """#,
            #"""
            [
                {"jsonrpc": "2.0", "result": 7, "id": "1"},
                {"jsonrpc": "2.0", "result": 19, "id": "2"},
                {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
                {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
                {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
            ]
            """#)
    }

    @Test("rpc call Batch (all notifications)")
    func batchOfNotifications() async throws {
        try await expectExchange(
            #"""
            [
                {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
                {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
            ]
            """#,
            nil)
    }
}
