import Foundation
import MovRDevTools

/// What the benchmarks share: a private `movr up` for the run, and the dated report section.
enum BenchStack {
    /// Starts `movr up` (this executable) on `portBase` with `arguments`; returns its process and
    /// stack file once it is up. The stack stops with this process (`--exit-with-parent`).
    static func start(directory: String, portBase: Int, arguments: [String] = []) async throws
        -> (BackgroundProcess, String) {
        let log = directory + ".log"
        try? FileManager.default.removeItem(atPath: log)
        let movr = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let portBase = LocalStack.freePortBase(preferred: portBase)
        let process = try await ToolProcess.start(
            [movr, "up", "--dir", directory, "--port-base", "\(portBase)", "--exit-with-parent", "--log-level", "warning"]
                + arguments, outputPath: log)
        Console.line("starting a private stack for the benchmark \(arguments.joined(separator: " ")) (log: \(log))...")
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("Press Ctrl-C to stop.") {
                return (process, directory + "/stack.json")
            }
            if let status = process.exitStatus {
                throw StackError("movr up exited with \(status); see \(log)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        process.send(signal: SIGTERM)
        throw StackError("the stack did not start within 600 s; see \(log)")
    }

    static func stop(_ process: BackgroundProcess) async {
        process.send(signal: SIGTERM)
        _ = await process.wait()
    }

    /// Appends `markdown` as a new section of `path` (created with a title if missing).
    static func appendSection(_ markdown: String, to path: String) throws {
        let existing = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmarks\n"
        try (existing + (existing.hasSuffix("\n\n") ? "" : existing.hasSuffix("\n") ? "\n" : "\n\n") + markdown + "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        Console.line("report section appended to \(path)")
    }
}
