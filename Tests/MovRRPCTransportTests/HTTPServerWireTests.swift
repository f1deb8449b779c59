import Foundation
import MovRRPC
import MovRRPCTransport
import MovRTestSupport
import Testing

/// The server's HTTP/1.1 as a client meets it on the wire: raw bytes sent by `openssl s_client`
/// over real mutual TLS to a real ``RPCServer``, and the bytes it answers — pipelined requests,
/// HTTP/1.0, bytes the decoder cannot parse, notifications.
@Suite("HTTP server wire")
struct HTTPServerWireTests {
    let fixture: TransportFixture

    init() throws {
        fixture = try TransportFixture()
    }

    /// Writes `raw` on one connection (all at once) and returns everything the server sent
    /// until it closed the connection.
    func exchange(port: Int, _ raw: String) async throws -> String {
        let file = fixture.certificates.path("raw-\(UUID().uuidString)")
        try raw.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let command = "timeout 30 openssl s_client -quiet -connect 127.0.0.1:\(port) -servername vehicles.movr.internal "
            + "-cert \(fixture.gateway.certificatePath) -key \(fixture.gateway.keyPath) "
            + "-CAfile \(fixture.authority.certificatePath) -verify_return_error < \(file) 2>/dev/null"
        let started = ContinuousClock.now
        let output = try await TestProcess.run("/bin/sh", ["-c", command]).text
        // s_client ends when the server closes; `timeout` ends it at 30 s if the server never does.
        #expect(ContinuousClock.now - started < .seconds(25), "the server left the connection open")
        return output
    }

    static func rpc(id: Int, close: Bool = false, version: String = "1.1", extra: String = "") -> String {
        let body = #"{"jsonrpc":"2.0","id":\#(id),"method":"test.echo","params":{}}"#
        return "POST /rpc HTTP/\(version)\r\nhost: vehicles.movr.internal\r\ncontent-type: application/json\r\n"
            + "content-length: \(body.utf8.count)\r\n\(close ? "connection: close\r\n" : "")\(extra)\r\n\(body)"
    }

    /// The status lines, in order (a response follows the previous body without a line break).
    static func statusLines(_ text: String) -> [String] {
        text.matches(of: /HTTP\/1\.[01] \d{3} [A-Za-z ]*\r\n/).map { String($0.0.dropLast()) }  // "\r\n" is one Character
    }

    /// The JSON-RPC ids of the answers, in order.
    static func ids(_ text: String) -> [Int] {
        text.matches(of: /"id":(\d+)/).compactMap { Int($0.1) }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderEvenPastTheQueueBound() async throws {
        let (server, port) = try await fixture.startServer(dispatcher: .transportTest())
        // 100 requests in one write: more than the handler queues (64 parts) while one is in
        // flight, so reading pauses and resumes; a health check in the middle.
        var raw = (1...50).map { Self.rpc(id: $0) }.joined()
        raw += "GET /healthz HTTP/1.1\r\nhost: vehicles.movr.internal\r\n\r\n"
        raw += (51...100).map { Self.rpc(id: $0, close: $0 == 100) }.joined()
        let answer = try await exchange(port: port, raw)
        #expect(Self.statusLines(answer).count == 101)
        #expect(Self.statusLines(answer).allSatisfy { $0 == "HTTP/1.1 200 OK" })
        #expect(Self.ids(answer) == Array(1...100))
        let health = try #require(answer.range(of: #"{"status":"ok"}"#))
        #expect(answer[..<health.lowerBound].contains(#""id":50"#) && !answer[..<health.lowerBound].contains(#""id":51"#))
        #expect(answer.hasSuffix("}") && answer.components(separatedBy: "connection: close\r\n").count == 2)
        await server.shutdownGracefully()
    }

    @Test func http10KeepsAliveOnlyWhenAsked() async throws {
        let (server, port) = try await fixture.startServer(dispatcher: .transportTest())
        let kept = try await exchange(port: port, Self.rpc(id: 1, version: "1.0", extra: "connection: keep-alive\r\n")
                                                  + Self.rpc(id: 2, version: "1.0"))
        #expect(Self.statusLines(kept) == ["HTTP/1.0 200 OK", "HTTP/1.0 200 OK"])
        #expect(kept.contains("connection: keep-alive\r\n") && kept.contains("connection: close\r\n"))
        #expect(Self.ids(kept) == [1, 2])
        await server.shutdownGracefully()
    }

    @Test func bytesTheDecoderCannotParseAreAnswered400AndTheConnectionCloses() async throws {
        let (server, port) = try await fixture.startServer(dispatcher: .transportTest())
        let garbage = try await exchange(port: port, "NOT HTTP AT ALL\r\n\r\n")
        #expect(Self.statusLines(garbage) == ["HTTP/1.1 400 Bad Request"])
        #expect(garbage.contains("connection: close\r\n") && garbage.contains("malformed HTTP request"))
        // Bad bytes behind a good request: the good one is answered, with `connection: close`.
        let behind = try await exchange(port: port, Self.rpc(id: 7) + "\u{01}\u{02} nonsense\r\n\r\n")
        #expect(Self.statusLines(behind) == ["HTTP/1.1 200 OK"])
        #expect(Self.ids(behind) == [7] && behind.contains("connection: close\r\n"))
        // A body framed twice (the request-smuggling shape) is refused by the decoder.
        let smuggled = try await exchange(port: port, "POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                                          + "content-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
        #expect(Self.statusLines(smuggled) == ["HTTP/1.1 400 Bad Request"])
        await server.shutdownGracefully()
    }

    @Test func notificationsAre204WithoutALengthAndHeadHasNoBody() async throws {
        let (server, port) = try await fixture.startServer(dispatcher: .transportTest())
        let body = #"{"jsonrpc":"2.0","method":"test.echo","params":{}}"#
        let answer = try await exchange(port: port, "POST /rpc HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                                        + "content-length: \(body.utf8.count)\r\n\r\n\(body)"
                                        + "HEAD /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        let responses = answer.components(separatedBy: "HTTP/1.1 ").dropFirst()
        #expect(responses.count == 2)
        let notification = try #require(responses.first)
        #expect(notification.hasPrefix("204 No Content\r\n") && !notification.lowercased().contains("content-length"))
        let head = try #require(responses.last)
        #expect(head.hasPrefix("200 OK\r\n") && head.contains("content-length: 15\r\n") && head.hasSuffix("\r\n\r\n"))
        await server.shutdownGracefully()
    }
}
