@testable import MovRGateway
import MovRService
import MovRServiceDatabase
@testable import MovRTool
import Testing

/// The pieces of read-your-writes that need no running stack: WAL positions, the gateway's
/// token-bound fences, and `Server-Timing` parsing.
@Suite struct RegionalReadsTests {
    @Test func walPositionsParseAndOrderLikePostgres() throws {
        let a = try #require(WALPosition("0/16B3748"))
        let b = try #require(WALPosition("1/0"))
        #expect(a < b)
        #expect(a.value == 0x16B3748 && b.value == 1 << 32)
        #expect(a.description == "0/16B3748" && WALPosition("16/b374d848")?.description == "16/B374D848")
        for bad in ["", "0", "/1", "1/", "g/1", "1/2/3", "123456789/0", " 0/1", "-1/0"] {
            #expect(WALPosition(bad) == nil, "\(bad)")
        }
    }

    @Test func fencesAreBoundToTokensAndNeverForgottenDownward() throws {
        let fences = WriteFences(capacity: 2)
        let low = try #require(WALPosition("0/100")), high = try #require(WALPosition("0/900"))
        #expect(fences.fence(token: "a") == nil)
        fences.record(high, token: "a")
        fences.record(low, token: "a")  // an older reply arriving late never lowers the fence
        #expect(fences.fence(token: "a") == high)
        #expect(fences.fence(token: "b") == nil)
        fences.record(low, token: "b")
        // Full: the table is emptied, and its highest position fences everyone.
        let newest = try #require(WALPosition("0/200"))
        fences.record(newest, token: "c")
        #expect(fences.fence(token: "a") == high)
        #expect(fences.fence(token: "zzz") == high)
        #expect(fences.fence(token: nil) == high)
    }

    @Test func serverTimingEntriesParse() {
        let entries = ServerTiming.parse(#"local;desc="europe-west1 users.session";dur=2.5, remote;desc="us-east1 rides.start";dur=70.1"#)
        #expect(entries == [
            ServerTiming(name: "local", description: "europe-west1 users.session", milliseconds: 2.5),
            ServerTiming(name: "remote", description: "us-east1 rides.start", milliseconds: 70.1),
        ])
        #expect(ServerTiming.parse("").isEmpty)
        #expect(ServerTiming.parse("junk;dur=x, ;;").isEmpty)
    }
}
