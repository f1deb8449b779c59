import NIOCore
@testable import MovRRPCTransport
import Testing

/// Request ids and `traceparent` values as the gateway makes them and the services read them.
@Suite struct RequestTraceTests {
    static func isLowercaseHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    @Test func freshIdsAre128RandomBitsInLowercaseHex() {
        let ids = (0..<2000).map { _ in RequestTrace.newRequestID() }
        for id in ids {
            #expect(id.utf8.count == 32)
            #expect(Self.isLowercaseHex(id[...]))
        }
        #expect(Set(ids).count == ids.count)
        // Every hex digit shows up in every position over 2000 ids (a stuck nibble would not).
        for position in 0..<32 {
            let seen = Set(ids.map { $0.utf8[$0.utf8.index($0.utf8.startIndex, offsetBy: position)] })
            #expect(seen.count == 16, "position \(position)")
        }
    }

    /// OpenSSL keeps a generator per thread: ids made on many threads at once never repeat.
    @Test func idsMadeConcurrentlyAreDistinct() async {
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<500).map { _ in RequestTrace.newRequestID() } }
            }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(ids.count == 4000)
        #expect(Set(ids).count == ids.count)
    }

    /// The id pool hands each byte out once, across refills, and serves a request larger than
    /// itself from the kernel directly.
    @Test func theRandomPoolNeverRepeatsAndServesLargeRequests() {
        func draw(_ count: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            bytes.withUnsafeMutableBytes { RandomBytes.shared.fill($0) }
            return bytes
        }
        // 40 draws of 100 bytes cross the 512-byte pool's refill several times.
        let draws = (0..<40).map { _ in draw(100) }
        #expect(Set(draws).count == draws.count)
        #expect(draws.allSatisfy { $0.contains { $0 != 0 } })
        let large = draw(4096)
        #expect(Set(large).count > 200)  // all 256 values are all but certain in 4096 random bytes
        #expect(draw(0).isEmpty)
    }

    @Test func theRequestIDIsReadFromAWellFormedTraceparentOnly() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736"
        func read(_ traceparent: String?, _ header: String? = nil) -> String? {
            RequestTrace.requestID(traceparent: traceparent, requestIDHeader: header)
        }
        #expect(read("00-\(id)-00f067aa0ba902b7-01") == id)
        #expect(read("00-\(id.uppercased())-00f067aa0ba902b7-01") == id)
        #expect(read("ff-\(id)-span_is_sixteen!-") == id)  // version, span and flags are not ours to judge
        #expect(read("00-\(id)-00f067aa0ba902b7-01-x") == nil)  // a fourth dash
        #expect(read("00-\(id)-00f067aa0ba902b-01") == nil)
        #expect(read("00-\(id)a-00f067aa0ba902b7-01") == nil)
        #expect(read("000-\(id)-00f067aa0ba902b7-01") == nil)
        #expect(read("00-\(String(repeating: "0", count: 32))-00f067aa0ba902b7-01") == nil)
        #expect(read("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01") == nil)
        // Fullwidth digits are hex digits to `Character`, not to us.
        #expect(read("00-4bf92f3577b34da6a3ce929d0e0e473\u{FF11}-00f067aa0ba902b7-01") == nil)
        #expect(read("00-\(id)-00f067aa0ba902b\u{e9}-01") == nil)
        #expect(read("") == nil && read("00") == nil)
        // Without a usable traceparent, a safe X-Request-Id; nothing else.
        #expect(read("garbage", "client-42.a_b") == "client-42.a_b")
        #expect(read(nil, "bad id") == nil)
        #expect(read(nil, String(repeating: "a", count: 65)) == nil)
        #expect(read("00-\(id)-00f067aa0ba902b7-01", "client-42") == id)
    }

    @Test func aTraceparentCarriesTheIdWithAFreshSpan() throws {
        let id = RequestTrace.newRequestID()
        var lines: [String] = []
        for _ in 0..<2 {
            var buffer = ByteBuffer(string: "POST /rpc HTTP/1.1\r\n")
            try RequestTrace.writeTraceparentHeader(requestID: id, into: &buffer)
            let text = String(buffer: buffer)
            try #require(text.hasPrefix("POST /rpc HTTP/1.1\r\ntraceparent: ") && text.hasSuffix("\r\n"))
            // By bytes: "\r\n" is one Character.
            let value = String(decoding: text.utf8.dropFirst("POST /rpc HTTP/1.1\r\ntraceparent: ".utf8.count).dropLast(2),
                               as: UTF8.self)
            let parts = value.split(separator: "-", omittingEmptySubsequences: false)
            try #require(parts.count == 4)
            #expect(parts[0] == "00" && parts[1] == id[...] && parts[3] == "01")
            #expect(parts[2].utf8.count == 16 && Self.isLowercaseHex(parts[2]))
            #expect(RequestTrace.requestID(traceparent: value, requestIDHeader: nil) == id)
            lines.append(value)
        }
        #expect(lines[0] != lines[1])
        var buffer = ByteBuffer()
        #expect(throws: (any Error).self) { try RequestTrace.writeTraceparentHeader(requestID: "a\r\nx: y", into: &buffer) }
    }
}
