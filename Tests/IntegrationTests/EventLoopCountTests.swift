import Foundation
import Testing

/// `movr up` runs sixteen executables on one machine and gives each one event loop
/// (`MOVR_EVENT_LOOPS=1`, docs/operations.md): the setting reaches every executable and sizes
/// the event-loop group its listeners, clients and handlers run on.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil, "needs a local stack"))
struct EventLoopCountTests {
    @Test func everyExecutableOfTheLocalStackRunsOneEventLoop() async throws {
        _ = try await LocalStackHarness.shared.start()
        let directory = await LocalStackHarness.shared.directory
        let lines = try String(contentsOfFile: directory + "/pids", encoding: .utf8).split(separator: "\n")
        var checked = 0
        for line in lines {
            guard let pid = line.split(separator: " ").first.flatMap({ Int32($0) }) else { continue }
            // A child restarted by another test since has another pid; the rest are checked.
            guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { continue }
            let names = tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
            // NIO names the threads of its shared group NIO-SGLTN-<group>-#<loop>.
            let loops = names.filter { $0.hasPrefix("NIO-SGLTN-") }
            #expect(loops.count == 1, "\(line): \(loops)")
            checked += 1
        }
        #expect(checked >= 12, "most of the sixteen executables were found running: \(checked)")
    }
}
