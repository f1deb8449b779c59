import MovRRPC
import NIOCore
import Testing
@testable import MovRRPCTransport

/// The reply's `server-timing` header, written straight into the response bytes.
@Suite("Server-Timing written into the response")
struct ServerTimingHeaderTests {
    typealias Call = RPCResponseHeaders.ServerTiming

    func written(_ total: Int64?, _ calls: [Call]) -> String {
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

    @Test func callsFollowTheTotalInTheirOrder() {
        let calls = [Call(isLocal: true, target: "us-east1", method: "users.session", tenths: 4),
                     Call(isLocal: false, target: "europe-west1", method: "rides.start", tenths: 701)]
        #expect(written(2_500_000, calls) == "server-timing: gateway;dur=2.5, "
            + #"local;desc="us-east1 users.session";dur=0.4, remote;desc="europe-west1 rides.start";dur=70.1"# + "\r\n")
        // A service answers with its calls only; nothing at all without either.
        #expect(written(nil, calls).hasPrefix("server-timing: local;"))
        #expect(written(nil, []) == "")
        // An entry that would split the header is left out, the rest kept.
        #expect(written(nil, [Call(isLocal: true, target: "a\r\nx: y", method: "m", tenths: 1),
                              Call(isLocal: true, target: "b", method: "m\n", tenths: 1),
                              Call(isLocal: false, target: "c", method: "m", tenths: 20)])
            == #"server-timing: remote;desc="c m";dur=2.0"# + "\r\n")
        #expect(written(-5, []) == "server-timing: gateway;dur=0.0\r\n")
    }

    /// Each call's entry as it was formatted when it was a string per call (interpolating the
    /// tenths), and as ``RPCResponseHeaders/ServerTiming/text`` (what tests and `all` read) spells it.
    @Test func callEntriesAreSpelledAsTheirTextSays() {
        for tenths in Array(Int64(0)..<2_000) + [99_999, 100_000, 1_234_567] {
            for isLocal in [true, false] {
                let call = Call(isLocal: isLocal, target: "us-west1", method: "vehicles.list", tenths: tenths)
                let old = "\(isLocal ? "local" : "remote");desc=\"us-west1 vehicles.list\";dur=\(tenths / 10).\(tenths % 10)"
                #expect(written(nil, [call]) == "server-timing: \(old)\r\n")
                #expect(call.text == old)
            }
        }
        // A negative duration (a clock that went back) is spelled as zero by both.
        let negative = Call(isLocal: true, target: "t", method: "m", tenths: -3)
        #expect(negative.text == #"local;desc="t m";dur=0.0"#)
        #expect(written(nil, [negative]) == "server-timing: \(negative.text)\r\n")
    }

    @Test func servedRegionsAreCommaSeparatedOnOneLine() {
        func regions(_ names: [String]) -> String {
            var buffer = ByteBuffer()
            RPCHTTPHandler.writeServedRegions(names, into: &buffer)
            return String(buffer: buffer)
        }
        #expect(regions([]) == "")
        #expect(regions(["us-east1"]) == "x-movr-region: us-east1\r\n")
        #expect(regions(["us-east1", "europe-west1"]) == "x-movr-region: us-east1,europe-west1\r\n")
        #expect(regions(["bad\r\nx: y", "us-west1"]) == "x-movr-region: us-west1\r\n")
        #expect(regions(["bad\n"]) == "")
    }

    @Test func responseHeadersKeepEachKindInTheOrderAdded() {
        let headers = RPCResponseHeaders()
        RPCResponseHeaders.$current.withValue(headers) {
            RPCResponseHeaders.add(Call(isLocal: true, target: "us-east1", method: "users.session", tenths: 3))
            RPCResponseHeaders.add("x-movr-lsn", "0/16B3748")
            RPCResponseHeaders.add(Call(isLocal: false, target: "us-west1", method: "rides.start", tenths: 12))
        }
        headers.withContents { values, timings in
            #expect(values.map(\.0) == ["x-movr-lsn"])
            #expect(timings.map(\.method) == ["users.session", "rides.start"])
        }
        #expect(headers.all.map(\.1) == ["0/16B3748", #"local;desc="us-east1 users.session";dur=0.3"#,
                                          #"remote;desc="us-west1 rides.start";dur=1.2"#])
        // Outside a request nothing is recorded and nothing fails.
        RPCResponseHeaders.add(Call(isLocal: true, target: "x", method: "y", tenths: 1))
    }
}
