import Foundation

/// One supervised executable of the local stack: started with its own environment and log file,
/// restarted if it dies unexpectedly, stopped with SIGTERM (then SIGKILL after a grace period).
final class ChildProcess: @unchecked Sendable {
    // All mutable state is guarded by `lock`; Process callbacks arrive on Foundation's threads.
    let name: String
    private let executable: String
    private let arguments: [String]
    private let environment: [String: String]
    private let logPath: String
    private let lock = NSLock()
    private var process: Process?
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
        lock.withLock { process?.isRunning == true ? process?.processIdentifier : nil }
    }

    func start() throws {
        // Appended to across restarts: the log of the run that died is what explains it.
        if !FileManager.default.fileExists(atPath: logPath) {
            FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        guard let log = FileHandle(forWritingAtPath: logPath) else {
            throw StackError("cannot open log file \(logPath)")
        }
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { [weak self] finished in
            try? log.close()
            self?.exited(finished)
        }
        try process.run()
        lock.withLock { self.process = process }
    }

    private func exited(_ finished: Process) {
        let restart = lock.withLock { () -> Bool in
            guard !stopping, process === finished else { return false }
            restarts += 1
            return true
        }
        guard restart else { return }
        FileHandle.standardError.write(Data(
            "movr up: \(name) exited with status \(finished.terminationStatus); restarting (see \(logPath))\n".utf8))
        Thread.sleep(forTimeInterval: 1)
        if lock.withLock({ !stopping }), (try? start()) != nil {
            afterRestart?()
        }
    }

    /// SIGTERM, wait up to `grace` seconds, then SIGKILL.
    func stop(grace: TimeInterval = 15) {
        let process = lock.withLock { () -> Process? in
            stopping = true
            return self.process
        }
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

struct StackError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
