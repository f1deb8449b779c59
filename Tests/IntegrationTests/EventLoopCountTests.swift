import Foundation
import MovRAPI
import MovRTestSupport
import MovRTool
import NIOCore
import Testing

/// `MOVR_EVENT_LOOPS` sizes the event-loop group an executable's listeners, RPC clients and
/// handlers run on (docs/operations.md, "Configuration"); unset, it is one loop per core.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil,
                "starts its own executable next to a local stack"))
struct EventLoopCountTests {
    /// NIO names the threads of its shared group NIO-SGLTN-<group>-#<loop>.
    static func eventLoopThreads(of pid: Int32) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
            .filter { $0.hasPrefix("NIO-SGLTN-") }
    }

    @Test func theSettingSizesTheExecutablesEventLoopGroup() async throws {
        // Three: neither one nor this machine's core count.
        let vehicles = try await SpawnedExecutable.start(.vehicles, logName: "event-loops", extra: ["MOVR_EVENT_LOOPS": "3"])
        let process = vehicles.process
        #expect(Self.eventLoopThreads(of: process.processIdentifier).count == 3, "\(Self.eventLoopThreads(of: process.processIdentifier))")
        _ = await process.terminate(grace: .seconds(30))
        let directory = await LocalStackHarness.shared.directory
        // Unset (as `movr up` leaves it by default): one loop per core.
        let lines = try String(contentsOfFile: directory + "/pids", encoding: .utf8).split(separator: "\n")
        let cores = System.coreCount  // what NIO counts
        for line in lines.prefix(4) {
            guard let pid = line.split(separator: " ").first.flatMap({ Int32($0) }) else { continue }
            let loops = Self.eventLoopThreads(of: pid)
            guard !loops.isEmpty else { continue }  // restarted by another test since
            #expect(loops.count == cores, "\(line): \(loops)")
        }
    }
}
