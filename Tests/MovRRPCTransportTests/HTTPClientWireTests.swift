import MovRRPC
@testable import MovRRPCTransport
import NIOCore
import Testing

/// The RPC client's own HTTP/1.1: requests as one buffer, replies parsed strictly and
/// incrementally (the end-to-end path runs in every transport and integration test).
@Suite("HTTP client wire")
struct HTTPClientWireTests {
    static let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 11\r\n"
        + "movr-cost: users;db=1;calls=0\r\nX-MovR-LSN: 0/16B3748\r\nserver-timing: db;dur=0.2\r\n"
        + "Server-Timing: call;dur=1.5\r\n\r\n{\"result\":1}"

    /// Feeds `text` in pieces of `chunk` bytes; returns the reply once complete.
    static func parse(_ text: String, chunk: Int = .max, maxBodyBytes: Int = 1 << 20) throws -> [ClientReply] {
        var parser = HTTPClientWire.ReplyParser()
        var replies: [ClientReply] = []
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + min(chunk, bytes.count))
            var piece = ByteBuffer(bytes: bytes[offset..<end])
            if let reply = try parser.feed(&piece, maxBodyBytes: maxBodyBytes) { replies.append(reply) }
            offset = end
        }
        return replies
    }

    @Test func readsTheReplyWhateverTheReadsSplitItInto() throws {
        for chunk in [1, 2, 3, 7, 64, Int.max] {
            // The body is declared 11 bytes: `{"result":1` and the last brace is a stray byte.
            let replies = try Self.parse(Self.reply, chunk: chunk)
            #expect(replies.count == 1, "chunk \(chunk)")
            let reply = try #require(replies.first)
            #expect(reply.status == 200)
            #expect(String(buffer: reply.body) == "{\"result\":1")
            #expect(reply.cost == "users;db=1;calls=0")
            #expect(reply.lsn == "0/16B3748")
            #expect(reply.serverTiming == "db;dur=0.2, call;dur=1.5")
        }
        // A byte after the reply answers nothing: read with it, the connection is not reused.
        let exact = try #require(try Self.parse(Self.reply.replacingOccurrences(of: "Length: 11", with: "Length: 12")).first)
        #expect(String(buffer: exact.body) == "{\"result\":1}")
        #expect(exact.reusable)
        #expect(try Self.parse(Self.reply).first?.reusable == false)
    }

    @Test func connectionHeadersAndVersionsDecideReuse() throws {
        func reusable(_ head: String) throws -> Bool {
            try #require(try Self.parse(head + "\r\ncontent-length: 0\r\n\r\n").first).reusable
        }
        #expect(try reusable("HTTP/1.1 200 OK"))
        #expect(try !reusable("HTTP/1.1 200 OK\r\nConnection: close"))
        #expect(try !reusable("HTTP/1.1 200 OK\r\nconnection: Upgrade, Close"))
        #expect(try !reusable("HTTP/1.0 200 OK"))
        #expect(try reusable("HTTP/1.0 200 OK\r\nConnection: keep-alive"))
        #expect(try reusable("HTTP/1.1 200"))
    }

    @Test func statusesWithoutBodiesAndInterimReplies() throws {
        let noContent = try #require(try Self.parse("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").first)
        #expect(noContent.status == 204 && noContent.body.readableBytes == 0)
        let afterContinue = try Self.parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Unavailable\r\ncontent-length: 2\r\n\r\n{}", chunk: 5)
        #expect(afterContinue.map(\.status) == [503])
    }

    @Test(arguments: [
        ("HTTP/2 200 OK\r\ncontent-length: 0\r\n\r\n", "malformed HTTP status line"),
        ("HTTP/1.1 20 OK\r\ncontent-length: 0\r\n\r\n", "malformed HTTP status line"),
        ("HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n", "malformed HTTP status line"),
        ("HTTP/1.1 099 OK\r\ncontent-length: 0\r\n\r\n", "malformed HTTP status line"),
        ("http/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", "malformed HTTP status line"),
        ("HTTP/1.1 200 OK\r\ncontent-length : 0\r\n\r\n", "malformed HTTP header"),
        ("HTTP/1.1 200 OK\r\nno colon\r\ncontent-length: 0\r\n\r\n", "malformed HTTP header"),
        ("HTTP/1.1 200 OK\r\nx: a\r\n folded\r\ncontent-length: 0\r\n\r\n", "malformed HTTP header"),
        ("HTTP/1.1 200 OK\r\nx: a\nsmuggled: b\r\ncontent-length: 0\r\n\r\n", "malformed HTTP header"),
        ("HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n{}", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\ncontent-length: 1e3\r\n\r\n", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999\r\n\r\n", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", "unsupported HTTP reply framing: transfer-encoding"),
        ("HTTP/1.1 200 OK\r\n\r\n{}", "unsupported HTTP reply framing: no content-length"),
        ("HTTP/1.1 101 Switching Protocols\r\n\r\n", "unsupported HTTP reply framing: 101"),
    ])
    func refusesWhatMovRServersNeverSend(text: String, error: String) {
        for chunk in [1, Int.max] {
            #expect(Self.errorText(text, chunk: chunk) == error, "chunk \(chunk)")
        }
    }

    static func errorText(_ text: String, chunk: Int) -> String {
        do {
            _ = try parse(text, chunk: chunk)
            return "parsed"
        } catch {
            return "\(error)"
        }
    }

    @Test func refusesAnOversizedReplyBeforeReadingItsBody() throws {
        #expect(throws: ClientTransportError.replyTooLarge) {
            _ = try Self.parse("HTTP/1.1 200 OK\r\ncontent-length: 1001\r\n\r\n{", maxBodyBytes: 1000)
        }
        #expect(try Self.parse("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + String(repeating: " ", count: 1000),
                               maxBodyBytes: 1000).count == 1)
        // A head that never ends is refused once it passes 16 KiB, not held without bound.
        let endless = "HTTP/1.1 200 OK\r\n" + String(repeating: "x-filler: 0123456789\r\n", count: 1000)
        #expect(throws: HTTPClientWire.ReplyError.headTooLarge) { _ = try Self.parse(endless, chunk: 4096) }
    }

    @Test func writesTheRequestAsOneBufferAndRefusesHeaderInjection() throws {
        var request = try HTTPClientWire.startRequest(method: "POST", uri: "/rpc", capacity: 64)
        try HTTPWire.writeHeader("host", "vehicles.movr", into: &request)
        HTTPWire.writeHeader("content-length", integer: 2, into: &request)
        HTTPWire.writeHeader(RPCHeader.deadline, integer: 1500, into: &request)
        HTTPClientWire.finishRequest(&request, body: ByteBuffer(string: "{}"))
        #expect(String(buffer: request)
            == "POST /rpc HTTP/1.1\r\nhost: vehicles.movr\r\ncontent-length: 2\r\nx-movr-deadline-ms: 1500\r\n\r\n{}")
        for (name, value) in [("x-a", "1\r\nx-injected: 2"), ("x-a", "1\n"), ("x-a", "a\0b"), ("bad name", "1"), ("", "1"),
                              ("x:y", "1")] {
            var buffer = ByteBuffer()
            #expect(throws: HTTPWire.InvalidHeader.self) { try HTTPWire.writeHeader(name, value, into: &buffer) }
            #expect(buffer.readableBytes == 0, "nothing of a refused header is written")
        }
        #expect(throws: HTTPWire.InvalidHeader.self) {
            _ = try HTTPClientWire.startRequest(method: "GET", uri: "/a b", capacity: 64)
        }
    }

    /// Every byte against RFC 9110's `tchar` list, and integers written in place as `String` spells them.
    @Test func tokenBytesAndDecimalIntegersFollowTheirDefinitions() {
        let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(HTTPWire.isTokenByte(byte) == tchar.contains(byte), "byte \(byte)")
        }
        #expect(HTTPWire.isToken("x-movr-deadline-ms".utf8))
        #expect(!HTTPWire.isToken("x movr".utf8) && !HTTPWire.isToken("".utf8) && !HTTPWire.isToken("caf\u{E9}".utf8))
        let values: [Int64] = [0, 7, 9, 10, 99, 100, 1500, 8352, -1, -42, .max, .min]
        for value in values {
            var buffer = ByteBuffer()
            JSONNumberWriting.writeInteger(value, to: &buffer)
            #expect(String(buffer: buffer) == String(value))
        }
        var buffer = ByteBuffer()
        JSONNumberWriting.writeInteger(UInt64.max, to: &buffer)
        #expect(String(buffer: buffer) == String(UInt64.max))
    }
}
