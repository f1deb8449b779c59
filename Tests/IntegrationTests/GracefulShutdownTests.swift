import Foundation
import MovRAPI
import MovRInternalAPI
import MovRTestSupport
import MovRTool
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM stops a running executable in order: the listener stops accepting and drains, then
/// the background services and the database; the process logs both and exits 0.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil,
                "starts its own executable next to a local stack"))
struct GracefulShutdownTests {
    @Test func sigtermDrainsThenStopsAndExitsZero() async throws {
        let rides = try await SpawnedExecutable.start(.rides, logName: "graceful")
        let (process, log) = (rides.process, rides.log)
        let status = await process.terminate(grace: .seconds(30))
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(text.suffix(2000))")
        let drained = try #require(text.range(of: "drained"), "\(text.suffix(2000))")
        let stopped = try #require(text.range(of: "[MovRService] stopped"), "\(text.suffix(2000))")
        #expect(drained.lowerBound < stopped.lowerBound)
    }
}
