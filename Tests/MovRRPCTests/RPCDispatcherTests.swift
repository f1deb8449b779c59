import Logging
import Synchronization
import Testing

@testable import MovRRPC

struct SampleLocation: Codable, Sendable {
    var latitude: Double
    var longitude: Double
}

struct SampleAddVehicleParams: Decodable, Sendable {
    var type: String
    var location: SampleLocation
    var stops: [SampleLocation]?
    var battery: Int?
}

struct SampleAddVehicleResult: Encodable, Sendable {
    var id: String
    var type: String
}

struct SampleLeakyError: Error, CustomStringConvertible {
    var description: String { "connection to postgresql://admin:hunter2@db failed" }
}

@Suite("JSON-RPC dispatcher")
struct RPCDispatcherTests {
    func makeDispatcher(limits: RPCLimits = RPCLimits()) -> RPCDispatcher {
        var dispatcher = RPCDispatcher(limits: limits)
        dispatcher.register("vehicles.add", params: SampleAddVehicleParams.self) { params, _ in
            SampleAddVehicleResult(id: "v-1", type: params.type)
        }
        dispatcher.register("echo", params: JSONValue.self) { params, _ in params }
        dispatcher.register("ping", params: RPCEmptyParams.self) { _, _ in RPCEmpty() }
        dispatcher.register("vehicles.reserve", params: RPCEmptyParams.self, allowedCallers: ["rides"]) { _, context in
            context.caller ?? "nobody"
        }
        dispatcher.register("fail.conflict", params: RPCEmptyParams.self) { _, _ -> RPCEmpty in
            throw RPCError.conflict(reason: "vehicle_in_use")
        }
        dispatcher.register("fail.leaky", params: RPCEmptyParams.self) { _, _ -> RPCEmpty in throw SampleLeakyError() }
        dispatcher.register("whoami", params: RPCEmptyParams.self) { _, context in
            ["request_id": .string(context.requestID), "trace": .string(context.header("TraceParent") ?? "")] as JSONValue
        }
        return dispatcher
    }

    @Test("ids are echoed exactly", arguments: [#""abc""#, "1.50", "-0", "1e3", "12345678901234567890", "null", #""""#, #""\u00e9""#])
    func idEcho(id: String) async throws {
        let reply = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"ping","id":\#(id)}"#))
        #expect(reply["id"] == (try parseJSON(id)))
        #expect(reply["result"] == [:])
        let bytes = try #require(await makeDispatcher().handle(body: Array(#"{"jsonrpc":"2.0","method":"ping","id":\#(id)}"#.utf8), context: RPCContext()))
        if !id.contains("\\") {  // an escaped id comes back as the same string, unescaped
            #expect(String(decoding: bytes, as: UTF8.self).contains(#""id":\#(id)"#))
        }
    }

    @Test("ids of the wrong type make the request invalid", arguments: ["true", "[1]", #"{"a":1}"#])
    func wrongIDType(id: String) async throws {
        let reply = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"ping","id":\#(id)}"#))
        #expect(reply["error"]?["code"] == -32600)
        #expect(reply["id"] == .null)
    }

    @Test("invalid requests echo a valid id", arguments: [
        #"{"method":"ping","id":7}"#, #"{"jsonrpc":"1.0","method":"ping","id":7}"#, #"{"jsonrpc":2.0,"method":"ping","id":7}"#,
        #"{"jsonrpc":"2.0","id":7}"#, #"{"jsonrpc":"2.0","method":null,"id":7}"#, #"{"jsonrpc":"2.0","method":"ping","params":"x","id":7}"#,
        #"{"jsonrpc":"2.0","method":"ping","params":3,"id":7}"#, #"{"jsonrpc":"2.0","method":"ping","params":null,"id":7}"#,
    ])
    func invalidRequestEchoesID(body: String) async throws {
        let reply = try #require(try await respond(makeDispatcher(), body))
        #expect(reply["error"]?["code"] == -32600)
        #expect(reply["id"] == 7)
    }

    @Test("a top-level value that is neither object nor array is an invalid request", arguments: ["42", #""x""#, "null", "true"])
    func scalarBody(body: String) async throws {
        let reply = try #require(try await respond(makeDispatcher(), body))
        #expect(withoutErrorData(reply) == (try parseJSON(#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}"#)))
    }

    @Test("params that do not decode name the field", arguments: [
        (#"{"type":"bike","location":{"latitude":"north","longitude":1}}"#, "location.latitude"),
        (#"{"type":"bike","location":{"latitude":1}}"#, "location.longitude"),
        (#"{"type":"bike"}"#, "location"),
        (#"{"type":5,"location":{"latitude":1,"longitude":2}}"#, "type"),
        (#"{"type":"bike","location":{"latitude":1,"longitude":2},"battery":"full"}"#, "battery"),
        (#"{"type":"bike","location":{"latitude":1,"longitude":2},"battery":1.5}"#, "battery"),
        (#"{"type":"bike","location":{"latitude":1,"longitude":2},"stops":[{"latitude":1,"longitude":2},{"latitude":1}]}"#,
         "stops[1].longitude"),
        (#"{"type":null,"location":{"latitude":1,"longitude":2}}"#, "type"),
    ])
    func invalidParams(params: String, field: String) async throws {
        let reply = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"vehicles.add","params":\#(params),"id":1}"#))
        #expect(reply["error"]?["code"] == -32602)
        #expect(reply["error"]?["message"] == "Invalid params")
        #expect(reply["error"]?["data"]?["field"] == .string(field))
        #expect(reply["error"]?["data"]?["request_id"] == "req-1")
        #expect(reply["id"] == 1)
    }

    @Test("by-position params for a by-name method are invalid params")
    func positionalForNamed() async throws {
        let reply = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"vehicles.add","params":["bike",{"latitude":1,"longitude":2}],"id":1}"#))
        #expect(reply["error"]?["code"] == -32602)
        #expect(reply["error"]?["data"]?["field"] == nil)
        let empty = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"ping","params":[],"id":2}"#))
        #expect(empty["error"]?["code"] == -32602)
    }

    @Test("a JSONValue result keeps its number literals")
    func exactEcho() async throws {
        let reply = try #require(await makeDispatcher().handle(body: Array(#"{"jsonrpc":"2.0","method":"echo","params":[1.50,{"n":1E+2}],"id":1}"#.utf8), context: RPCContext()))
        #expect(String(decoding: reply, as: UTF8.self).contains(#"[1.50,{"n":1E+2}]"#))
    }

    @Test("valid params reach the handler and the result is encoded")
    func success() async throws {
        let reply = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"vehicles.add","params":{"type":"scooter","location":{"latitude":40.7,"longitude":-74.0}},"id":"a"}"#))
        #expect(reply == ["jsonrpc": "2.0", "result": ["id": "v-1", "type": "scooter"], "id": "a"])
    }

    @Test("empty params accept absent params and an empty object", arguments: [
        #"{"jsonrpc":"2.0","method":"ping","id":1}"#, #"{"jsonrpc":"2.0","method":"ping","params":{},"id":1}"#,
    ])
    func emptyParams(body: String) async throws {
        #expect(try await respond(makeDispatcher(), body) == ["jsonrpc": "2.0", "result": [:], "id": 1])
    }

    @Test("params members the method does not take are invalid params naming the member", arguments: [
        (#""ping","params":{"extra":[1]}"#, "extra"),
        (#""vehicles.add","params":{"type":"bike","location":{"latitude":1,"longitude":2},"status":"in_use"}"#, "status"),
        (#""vehicles.add","params":{"type":"bike","location":{"latitude":1,"longitude":2,"altitude":3}}"#, "location.altitude"),
        (#""vehicles.add","params":{"type":"bike","location":{"latitude":1,"longitude":2},"stops":[{"latitude":1,"longitude":2,"x":0}]}"#,
         "stops[0].x"),
    ])
    func unknownParamsMembers(call: String, field: String) async throws {
        let reply = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":\#(call),"id":1}"#))
        #expect(reply["error"]?["code"] == -32602)
        #expect(reply["error"]?["data"]?["field"] == .string(field))
    }

    @Test("unknown methods get -32601 without echoing the name")
    func unknownMethod() async throws {
        let body = #"{"jsonrpc":"2.0","method":"<script>","id":1}"#
        let bytes = try #require(await makeDispatcher().handle(body: Array(body.utf8), context: RPCContext()))
        let reply = try JSONValue.parse(bytes)
        #expect(reply["error"]?["code"] == -32601)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("script"))
    }

    @Test("the caller allow-list admits only listed services", arguments: [("rides", true), ("users", false), (nil, false)] as [(String?, Bool)])
    func allowList(caller: String?, allowed: Bool) async throws {
        let context = RPCContext(requestID: "r", caller: caller)
        let reply = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"vehicles.reserve","id":1}"#, context: context))
        if allowed {
            #expect(reply["result"] == "rides")
        } else {
            #expect(reply["error"]?["code"] == 403)
            #expect(reply["error"]?["data"]?["reason"] == "caller_not_allowed")
            #expect(reply["error"]?["data"]?["retryable"] == false)
        }
    }

    @Test("an RPCError from a handler reaches the client with the request id")
    func handlerRPCError() async throws {
        let reply = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"fail.conflict","id":1}"#))
        #expect(reply["error"] == [
            "code": 409, "message": "Conflict",
            "data": ["reason": "vehicle_in_use", "retryable": false, "request_id": "req-1"],
        ])
    }

    @Test("other errors become -32603 without details and are logged with the request id")
    func internalErrorHidesDetails() async throws {
        let store = LogStore()
        let context = RPCContext(requestID: "req-42", logger: store.logger())
        let bytes = try #require(await makeDispatcher().handle(body: Array(#"{"jsonrpc":"2.0","method":"fail.leaky","id":1}"#.utf8), context: context))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("hunter2"))
        #expect(!text.contains("postgresql"))
        let reply = try JSONValue.parse(bytes)
        #expect(reply["error"]?["code"] == -32603)
        #expect(reply["error"]?["message"] == "Internal error")
        #expect(reply["error"]?["data"]?["request_id"] == "req-42")
        let errors = store.entries.filter { $0.level == .error }
        #expect(errors.count == 1)
        #expect(errors.first?.metadata["request_id"] == "req-42")
        #expect(errors.first?.metadata["rpc_method"] == "fail.leaky")
    }

    @Test("the context's logger carries the request id and the identified caller, also after it is replaced")
    func contextLoggerCarriesRequestMetadata() async throws {
        let store = LogStore()
        var context = RPCContext(requestID: "req-7", caller: "gateway", logger: store.logger())
        context.logger.warning("first")
        context.logger = store.logger()
        context.logger.warning("second")
        let anonymous = RPCContext(requestID: "req-8", logger: store.logger())
        anonymous.logger.warning("third")
        let entries = store.entries
        #expect(entries.count == 3)
        for entry in entries.prefix(2) {
            #expect(entry.metadata["request_id"] == "req-7")
            #expect(entry.metadata["caller"] == "gateway")
        }
        #expect(entries.last?.metadata["request_id"] == "req-8")
        #expect(entries.last?.metadata["caller"] == nil)
    }

    @Test("an error translator turns a handler's error into its answer; what it declines stays -32603")
    func errorTranslatorAnswers() async throws {
        struct Unreachable: Error {}
        struct Other: Error {}
        var dispatcher = RPCDispatcher()
        dispatcher.register("down", params: RPCEmptyParams.self) { _, _ -> RPCEmpty in throw Unreachable() }
        dispatcher.register("broken", params: RPCEmptyParams.self) { _, _ -> RPCEmpty in throw Other() }
        dispatcher.errorTranslator = { error in error is Unreachable ? .unavailable(reason: "database_unavailable") : nil }
        let down = try #require(try await respond(dispatcher, #"{"jsonrpc":"2.0","method":"down","id":1}"#))
        #expect(down["error"]?["code"] == 503)
        #expect(down["error"]?["data"]?["reason"] == "database_unavailable")
        #expect(down["error"]?["data"]?["retryable"] == true)
        let broken = try #require(try await respond(dispatcher, #"{"jsonrpc":"2.0","method":"broken","id":2}"#))
        #expect(broken["error"]?["code"] == -32603)
    }

    @Test("a domain error answers with its own mapping, ahead of the error translator")
    func domainErrorsAnswerWithTheirMapping() async throws {
        enum SampleDomainError: RPCErrorConvertible {
            case taken
            var rpcError: RPCError { .conflict(reason: "sample_taken") }
        }
        var dispatcher = RPCDispatcher()
        dispatcher.register("take", params: RPCEmptyParams.self) { _, _ -> RPCEmpty in throw SampleDomainError.taken }
        dispatcher.errorTranslator = { _ in .unavailable(reason: "database_unavailable") }
        let taken = try #require(try await respond(dispatcher, #"{"jsonrpc":"2.0","method":"take","id":1}"#))
        #expect(taken["error"]?["code"] == 409)
        #expect(taken["error"]?["data"]?["reason"] == "sample_taken")
        #expect(taken["error"]?["data"]?["retryable"] == false)
    }

    @Test("notifications never get a response, even for errors", arguments: [
        #"{"jsonrpc":"2.0","method":"nope"}"#, #"{"jsonrpc":"2.0","method":"fail.leaky"}"#,
        #"{"jsonrpc":"2.0","method":"vehicles.add","params":{}}"#, #"{"jsonrpc":"2.0","method":"vehicles.reserve"}"#,
        #"[{"jsonrpc":"2.0","method":"nope"},{"jsonrpc":"2.0","method":"fail.conflict"}]"#,
    ])
    func notificationsAreSilent(body: String) async throws {
        #expect(try await respond(makeDispatcher(), body) == nil)
    }

    @Test("an expired deadline fails the call with 504 before the handler runs")
    func deadline() async throws {
        let context = RPCContext(requestID: "r", deadline: .now - .seconds(1))
        let reply = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"ping","id":1}"#, context: context))
        #expect(reply["error"]?["code"] == 504)
        #expect(reply["error"]?["data"]?["reason"] == "deadline_exceeded")
        #expect(reply["error"]?["data"]?["retryable"] == true)
        let future = RPCContext(requestID: "r", deadline: .now + .seconds(3600))
        #expect(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"ping","id":1}"#, context: future)?["result"] == [:])
    }

    @Test("a batch of 50 is served in request order; 51 is refused as a whole")
    func batchLimit() async throws {
        func batch(_ count: Int) -> String {
            "[" + (0..<count).map { #"{"jsonrpc":"2.0","method":"echo","params":[\#($0)],"id":\#($0)}"# }.joined(separator: ",") + "]"
        }
        let replies = try #require(try await respond(makeDispatcher(), batch(50))?.arrayValue)
        #expect(replies.map { $0["id"] } == (0..<50).map { JSONValue($0) })
        #expect(replies.map { $0["result"] } == (0..<50).map { JSONValue.array([JSONValue($0)]) })

        let refused = try #require(try await respond(makeDispatcher(), batch(51)))
        #expect(refused["error"]?["code"] == -32600)
        #expect(refused["error"]?["data"]?["reason"] == "batch_too_large")
        #expect(refused["id"] == .null)
    }

    @Test("batch entries run concurrently but answer in request order")
    func batchOrder() async throws {
        // Each entry waits until all five have started, which only happens if they run at once;
        // then later entries finish first, so the reply order must come from the request order.
        let started = Mutex(0)
        var dispatcher = RPCDispatcher()
        dispatcher.register("rendezvous", params: [Int].self) { params, _ in
            started.withLock { $0 += 1 }
            let giveUp = ContinuousClock.now + .seconds(30)
            while started.withLock({ $0 }) < 5 {
                guard ContinuousClock.now < giveUp else { return JSONValue.string("alone") }
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds((5 - params[0]) * 40))
            return JSONValue(params[0])
        }
        let body = "[" + (0..<5).map { #"{"jsonrpc":"2.0","method":"rendezvous","params":[\#($0)],"id":\#($0)}"# }
            .joined(separator: ",") + "]"
        let replies = try #require(try await respond(dispatcher, body)?.arrayValue)
        #expect(replies.map { $0["result"] } == [0, 1, 2, 3, 4])
        #expect(replies.map { $0["id"] } == [0, 1, 2, 3, 4])
    }

    @Test("nesting beyond the limit is a parse error, at the limit it is served")
    func deepNesting() async throws {
        // The envelope object is level 1, so params may nest 63 levels.
        let atLimit = #"{"jsonrpc":"2.0","method":"echo","id":1,"params":"# + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "}"
        #expect(try await respond(makeDispatcher(), atLimit)?["result"] != nil)
        let tooDeep = #"{"jsonrpc":"2.0","method":"echo","id":1,"params":"# + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}"
        let reply = try #require(try await respond(makeDispatcher(), tooDeep))
        #expect(reply["error"]?["code"] == -32700)
        #expect(reply["error"]?["data"]?["reason"] == "nesting_too_deep")
        let hostile = try #require(try await respond(makeDispatcher(), String(repeating: "[", count: 100_000)))
        #expect(hostile["error"]?["code"] == -32700)
    }

    @Test("bodies over the limit are refused")
    func bodyLimit() async throws {
        let dispatcher = makeDispatcher(limits: RPCLimits(maxBodyBytes: 64))
        let small = #"{"jsonrpc":"2.0","method":"ping","id":1}"#
        #expect(try await respond(dispatcher, small)?["result"] == [:])
        let large = #"{"jsonrpc":"2.0","method":"ping","id":1,"params":{"pad":"\#(String(repeating: "x", count: 64))"}}"#
        let reply = try #require(try await respond(dispatcher, large))
        #expect(reply["error"]?["code"] == -32600)
        #expect(reply["error"]?["data"]?["reason"] == "body_too_large")
    }

    @Test("invalid UTF-8 in a body is a parse error")
    func invalidUTF8Body() async throws {
        let body = Array(#"{"jsonrpc":"2.0","method":"ping","id":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8)
        let reply = try JSONValue.parse(try #require(await makeDispatcher().handle(body: body, context: RPCContext())))
        #expect(reply["error"]?["code"] == -32700)
    }

    @Test("the context carries the request id and lowercased headers")
    func context() async throws {
        let context = RPCContext(requestID: "abc", headers: ["TraceParent": "00-1-2-01"])
        let reply = try #require(try await respond(makeDispatcher(), #"{"jsonrpc":"2.0","method":"whoami","id":1}"#, context: context))
        #expect(reply["result"] == ["request_id": "abc", "trace": "00-1-2-01"])
        #expect(context.headers == ["traceparent": "00-1-2-01"])
    }

    @Test("repeated header fields read as one comma-joined value; absent ones as nil")
    func repeatedHeaders() {
        let headers = RequestHeaders([(name: "x-forwarded-for", value: "1.2.3.4"), (name: "accept", value: "*/*"),
                                      (name: "x-forwarded-for", value: "5.6.7.8")])
        #expect(headers["x-forwarded-for"] == "1.2.3.4,5.6.7.8")
        #expect(headers["accept"] == "*/*")
        #expect(headers["x-city"] == nil)
        let context = RPCContext(headers: ["X-City": "new york"])
        #expect(context.header("x-CITY") == "new york")
    }
}
