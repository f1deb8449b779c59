import Foundation
import MovRTestSupport
import Testing

/// Bad input at the public edge gets the spec's answer — never a crash, a hang or a 5xx — and
/// the gateway keeps serving. curl is the client, so nothing of ours is on the other side.
@Suite struct GatewayInputTests {
    struct Reply {
        var status: Int
        var body: String
    }

    static func curl(_ stack: LocalStackHarnessStack, path: String = "/rpc", method: String = "POST",
                     contentType: String? = "application/json", body: Data? = nil) async throws -> Reply {
        var arguments = ["-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "30", "--cacert", stack.ca, "-X", method]
        if let contentType { arguments += ["-H", "Content-Type: \(contentType)"] }
        let file = NSTemporaryDirectory() + "movr-body-\(UUID().uuidString)"
        if let body {
            try body.write(to: URL(fileURLWithPath: file))
            arguments += ["--data-binary", "@\(file)"]
        }
        arguments.append(stack.gateway + path)
        let text = try await TestProcess.run("/usr/bin/curl", arguments).text
        try? FileManager.default.removeItem(atPath: file)
        let newline = text.lastIndex(of: "\n") ?? text.startIndex
        return Reply(status: Int(text[text.index(after: newline)...]) ?? 0, body: String(text[..<newline]))
    }

    struct LocalStackHarnessStack {
        var gateway: String
        var ca: String
    }

    static func stack() async throws -> LocalStackHarnessStack {
        let stack = try await LocalStackHarness.shared.start()
        return LocalStackHarnessStack(gateway: try stack.topology.url(of: .gateway, in: stack.primaryRegion), ca: stack.ca)
    }

    @Test func malformedAndHostileBodies() async throws {
        let stack = try await Self.stack()
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let batch51 = "[" + Array(repeating: #"{"jsonrpc":"2.0","id":1,"method":"cities.list"}"#, count: 51).joined(separator: ",") + "]"
        let cases: [(String, Data, String)] = [
            ("malformed", Data(#"{"jsonrpc":"2.0","id":1,"method":"#.utf8), "-32700"),
            ("invalid UTF-8", Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]), "-32700"),
            ("deep nesting", Data(deep.utf8), "-32700"),
            ("huge batch", Data(batch51.utf8), "batch_too_large"),
            ("empty batch", Data("[]".utf8), "-32600"),
            ("unknown method", Data(#"{"jsonrpc":"2.0","id":"x","method":"admin.drop_everything"}"#.utf8), "-32601"),
            ("wrong types", Data(#"{"jsonrpc":"2.0","id":2,"method":"vehicles.list","params":{"limit":"ten"}}"#.utf8), "\"field\":\"limit\""),
            ("positional params", Data(#"{"jsonrpc":"2.0","id":3,"method":"vehicles.get","params":[1]}"#.utf8), "-32602"),
            ("wrong version", Data(#"{"jsonrpc":"1.0","id":4,"method":"cities.list"}"#.utf8), "-32600"),
        ]
        for (name, body, expected) in cases {
            let reply = try await Self.curl(stack, body: body)
            #expect(reply.status == 200, "\(name): HTTP \(reply.status)")
            #expect(reply.body.contains(expected), "\(name): \(reply.body.prefix(300))")
            #expect(!reply.body.contains("Swift") && !reply.body.contains("SELECT"), "\(name) leaks internals")
        }
        #expect(try await Self.curl(stack, body: Data(repeating: 0x5B, count: 2 << 20)).status == 413)
        #expect(try await Self.curl(stack, contentType: "text/plain", body: Data("{}".utf8)).status == 415)
        #expect(try await Self.curl(stack, method: "GET", contentType: nil).status == 405)
        let notification = try await Self.curl(stack, body: Data(#"{"jsonrpc":"2.0","method":"cities.list"}"#.utf8))
        #expect(notification.status == 204)
        // Still serving.
        let ok = try await Self.curl(stack, body: Data(#"{"jsonrpc":"2.0","id":9,"method":"cities.list"}"#.utf8))
        #expect(ok.status == 200 && ok.body.contains("amsterdam"))
    }

    @Test func operationalRoutesAndWebUI() async throws {
        let stack = try await Self.stack()
        #expect(try await Self.curl(stack, path: "/healthz", method: "GET", contentType: nil).status == 200)
        #expect(try await Self.curl(stack, path: "/readyz", method: "GET", contentType: nil).status == 200)
        // Metrics describe the deployment: not on the public listener (unless --public-metrics).
        #expect(try await Self.curl(stack, path: "/metrics", method: "GET", contentType: nil).status == 404)
        let page = try await Self.curl(stack, path: "/", method: "GET", contentType: nil)
        #expect(page.status == 200 && page.body.contains("<title>MovR</title>"))
    }
}
