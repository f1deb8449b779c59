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

    @Test func aTraceparentCarriesTheIdWithAFreshSpan() throws {
        let id = RequestTrace.newRequestID()
        let first = RequestTrace.traceparent(requestID: id)
        let second = RequestTrace.traceparent(requestID: id)
        for header in [first, second] {
            let parts = header.split(separator: "-", omittingEmptySubsequences: false)
            try #require(parts.count == 4)
            #expect(parts[0] == "00")
            #expect(parts[1] == id[...])
            #expect(parts[2].utf8.count == 16 && Self.isLowercaseHex(parts[2]))
            #expect(parts[3] == "01")
            #expect(RequestTrace.requestID(traceparent: header, requestIDHeader: nil) == id)
        }
        #expect(first != second)
    }
}
