import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Child processes of the development tooling (initdb/pg_ctl, psql, openssl, curl, the stack's
/// executables), through swift-subprocess. Its spawn gives the child stdin from /dev/null,
/// default signal dispositions and an empty signal mask (a parent's event loops may block or
/// ignore signals such as SIGALRM that a child relies on), and closes every other descriptor
/// (SwiftNIO's sockets are not close-on-exec: a child holding a copy would keep a connection
/// open that this process has closed). It waits for the child through a pidfd, not SIGCHLD,
/// which Foundation's `Process` can miss when test runners or event loops manage signals.
///
/// Output goes to a file, not a pipe: a grandchild (pg_ctl's server) could otherwise hold the
/// pipe open. Nothing here changes user: callers that must not run a child as root put
/// `/usr/sbin/runuser -u <user> --` in front of the command (see `LocalPostgresCluster`).
public enum ToolProcess {
    /// Runs `arguments[0]` (an absolute path) to completion with stdout+stderr appended to
    /// `outputPath`; `environment` nil inherits this process's. Returns the exit status
    /// (128+signal if killed).
    public static func run(_ arguments: [String], outputPath: String, currentDirectory: String? = nil,
                           environment: [String: String]? = nil) async throws -> Int32 {
        let result = try await Subprocess.run(
            configuration(arguments, currentDirectory: currentDirectory, environment: environment),
            input: .none, output: .fileDescriptor(try openOutput(outputPath), closeAfterSpawningProcess: true),
            error: .combinedWithOutput)
        return exitStatus(result.terminationStatus)
    }

    /// Runs `arguments[0]` to completion and returns its exit status and its stdout+stderr.
    public static func output(_ arguments: [String], currentDirectory: String? = nil,
                              environment: [String: String]? = nil) async throws -> (status: Int32, text: String) {
        let outputPath = NSTemporaryDirectory() + "movr-proc-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status = try await run(arguments, outputPath: outputPath, currentDirectory: currentDirectory,
                                   environment: environment)
        return (status, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    /// Starts `arguments[0]` in the background with stdout+stderr appended to `outputPath`;
    /// returns once it runs (or throws if it cannot be started).
    public static func start(_ arguments: [String], outputPath: String, currentDirectory: String? = nil,
                             environment: [String: String]? = nil) async throws -> BackgroundProcess {
        let configuration = configuration(arguments, currentDirectory: currentDirectory, environment: environment)
        let output = try openOutput(outputPath)
        let process = BackgroundProcess()
        return try await withCheckedThrowingContinuation { (started: CheckedContinuation<BackgroundProcess, any Error>) in
            // The run lasts as long as the child: the body only publishes its pid, then swift-
            // subprocess waits for the exit and reaps it.
            Task.detached {
                do {
                    let result = try await Subprocess.run(
                        configuration, input: .none, output: .fileDescriptor(output, closeAfterSpawningProcess: true),
                        error: .combinedWithOutput
                    ) { execution in
                        process.started(execution.processIdentifier.value)
                        started.resume(returning: process)
                    }
                    process.exited(exitStatus(result.terminationStatus))
                } catch {
                    // Not started (the body never ran): the caller gets the error. Started: the
                    // wait failed; -1, as waitpid's failure was before.
                    if process.processIdentifier == 0 { started.resume(throwing: error) }
                    process.exited(-1)
                }
            }
        }
    }

    private static func configuration(_ arguments: [String], currentDirectory: String?,
                                      environment: [String: String]?) -> Configuration {
        precondition(!arguments.isEmpty)
        return Configuration(
            executable: .path(FilePath(arguments[0])),
            arguments: Arguments(Array(arguments.dropFirst())),
            environment: environment.map(customEnvironment) ?? .inherit,
            workingDirectory: currentDirectory.map { FilePath($0) })
    }

    /// Exactly `values`, nothing inherited.
    private static func customEnvironment(_ values: [String: String]) -> Environment {
        var custom: [Environment.Key: String] = [:]
        for (name, value) in values {
            if let key = Environment.Key(rawValue: name) { custom[key] = value }
        }
        return .custom(custom)
    }

    private static func openOutput(_ path: String) throws -> FileDescriptor {
        try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .append, .closeOnExec],
                                permissions: [.ownerReadWrite])
    }

    private static func exitStatus(_ status: TerminationStatus) -> Int32 {
        switch status {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }
}

/// A child started by ``ToolProcess/start(_:outputPath:currentDirectory:environment:)``.
public final class BackgroundProcess: @unchecked Sendable {
    // All mutable state is guarded by `lock`.
    private let lock = NSLock()
    private var pid: pid_t = 0
    private var status: Int32?
    private var waiters: [CheckedContinuation<Int32, Never>] = []

    init() {}

    /// The child's pid (also after it exited: do not signal it then, the kernel may reuse it).
    public var processIdentifier: pid_t { lock.withLock { pid } }

    /// The exit status (128+signal if killed) once the child has exited, nil while it runs.
    public var exitStatus: Int32? { lock.withLock { status } }

    /// Waits for the child to exit; its exit status.
    public func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let done = lock.withLock { () -> Int32? in
                if status == nil { waiters.append(continuation) }
                return status
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Sends `signal` unless the child has exited already.
    ///
    /// By pid: swift-subprocess's `Execution.send(signal:)` (through the pidfd) is valid only
    /// inside the run's body, and that body returns at once so the run can wait for the exit.
    /// The exit is recorded just after swift-subprocess reaps the child, so a signal sent in
    /// between could reach a reused pid; the stack and the tests live with that window, as they
    /// did with waitpid.
    public func send(signal: Int32) {
        lock.withLock {
            if status == nil, pid > 0 { kill(pid, signal) }
        }
    }

    /// SIGTERM, up to `grace` for the child to exit, then SIGKILL; its exit status.
    @discardableResult
    public func terminate(grace: Duration = .seconds(15)) async -> Int32 {
        send(signal: SIGTERM)
        let deadline = ContinuousClock.now + grace
        while exitStatus == nil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        send(signal: SIGKILL)
        return await wait()
    }

    func started(_ pid: pid_t) {
        lock.withLock { self.pid = pid }
    }

    /// Records the exit; false if it was recorded already.
    @discardableResult
    func exited(_ status: Int32) -> Bool {
        let waiting = lock.withLock { () -> [CheckedContinuation<Int32, Never>]? in
            guard self.status == nil else { return nil }
            self.status = status
            defer { waiters = [] }
            return waiters
        }
        guard let waiting else { return false }
        for waiter in waiting { waiter.resume(returning: status) }
        return true
    }
}
