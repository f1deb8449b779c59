import Foundation
import MovRDevTools

/// One supervised executable of the local stack: started with its own environment and log file,
/// restarted if it dies unexpectedly, stopped with SIGTERM (then SIGKILL after a grace period).
final class ChildProcess: @unchecked Sendable {
    // All mutable state is guarded by `lock`; each run's supervising task reads it too.
    let name: String
    private let executable: String
    private let arguments: [String]
    private let environment: [String: String]
    private let logPath: String
    private let lock = NSLock()
    private var process: BackgroundProcess?
    private var stopping = false
    private var restarts = 0
    private var restartHandler: (@Sendable () -> Void)?

    /// Called after each restart (e.g. to rewrite the stack's pids file).
    var afterRestart: (@Sendable () -> Void)? {
        get { lock.withLock { restartHandler } }
        set { lock.withLock { restartHandler = newValue } }
    }

    init(name: String, executable: String, arguments: [String] = [], environment: [String: String], logPath: String) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.logPath = logPath
    }

    var pid: Int32? {
        lock.withLock { process.flatMap { $0.exitStatus == nil ? $0.processIdentifier : nil } }
    }

    func start() async throws {
        // Appended to across restarts: the log of the run that died is what explains it.
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)  // a failure shows when the child starts
        }
        let process = try await ToolProcess.start([executable] + arguments, outputPath: logPath,
                                                  environment: environment)
        lock.withLock { self.process = process }
        Task { await self.supervise(process) }
    }

    private func supervise(_ running: BackgroundProcess) async {
        let status = await running.wait()
        let restart = lock.withLock { () -> Bool in
            guard !stopping, process === running else { return false }
            restarts += 1
            return true
        }
        guard restart else { return }
        FileHandle.standardError.write(Data(
            "movr up: \(name) exited with status \(status); restarting (see \(logPath))\n".utf8))
        try? await Task.sleep(for: .seconds(1))
        if lock.withLock({ !stopping }), (try? await start()) != nil {
            afterRestart?()
        }
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL.
    func stop(grace: Duration = .seconds(15)) async {
        let process = lock.withLock { () -> BackgroundProcess? in
            stopping = true
            return self.process
        }
        guard let process, process.exitStatus == nil else { return }
        await process.terminate(grace: grace)
    }
}

struct StackError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
