import NIOCore
import Testing
@testable import MovRRPCTransport

/// The reply's `server-timing` header, written straight into the response bytes.
@Suite("Server-Timing written into the response")
struct ServerTimingHeaderTests {
    func written(_ total: Int64?, _ calls: [(String, String)]) -> String {
        var buffer = ByteBuffer()
        RPCHTTPHandler.writeServerTiming(totalNanoseconds: total, calls: calls, into: &buffer)
        return String(buffer: buffer)
    }

    @Test func theTotalIsSpelledAsTheDoubleOfItsHundredthsOfAMillisecond() {
        // What the header said when it was built from `Double(hundredths) / 100`.
        for hundredths in Array(0..<3_000) + [99_999, 100_000, 123_456, 1_000_001, 987_654_321] {
            let nanoseconds = Int64(hundredths) * 10_000 + Int64(hundredths % 10_000)
            #expect(written(nanoseconds, []) == "server-timing: gateway;dur=\(Double(hundredths) / 100)\r\n")
        }
    }

    @Test func callsFollowTheTotalAndOtherHeadersAreLeftToTheirOwnLines() {
        let calls = [("server-timing", #"local;desc="us-east1 users.session";dur=0.4"#), ("x-movr-lsn", "0/16B3748"),
                     ("server-timing", #"remote;desc="europe-west1 rides.start";dur=70.1"#)]
        #expect(written(2_500_000, calls) == "server-timing: gateway;dur=2.5, "
            + #"local;desc="us-east1 users.session";dur=0.4, remote;desc="europe-west1 rides.start";dur=70.1"# + "\r\n")
        // A service answers with its calls only; nothing at all without either.
        #expect(written(nil, calls).hasPrefix("server-timing: local;"))
        #expect(written(nil, [("x-movr-lsn", "0/1")]) == "")
        #expect(written(nil, []) == "")
        // A value that would split the header is left out, the rest kept.
        #expect(written(nil, [("server-timing", "a;dur=1\r\nx: y"), ("server-timing", "b;dur=2")])
            == "server-timing: b;dur=2\r\n")
        #expect(written(-5, []) == "server-timing: gateway;dur=0.0\r\n")
    }
}
