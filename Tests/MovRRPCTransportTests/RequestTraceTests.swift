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
