import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Child processes for tests, with posix_spawn + waitpid.
///
/// Foundation's `Process` is avoided: in a test process full of event loops its termination
/// monitoring can miss SIGCHLD, and `waitUntilExit()` then waits forever.
public enum TestProcess {
    public struct Output: Sendable {
        public var status: Int32
        public var text: String
    }

    /// Runs `executable` to completion; stdout and stderr are captured together.
    public static func run(_ executable: String, _ arguments: [String], currentDirectory: String? = nil,
                           environment: [String: String]? = nil) throws -> Output {
        let outputPath = NSTemporaryDirectory() + "movr-proc-\(UUID().uuidString)"
        defer { unlink(outputPath) }
        let pid = try spawn(executable, arguments, currentDirectory: currentDirectory, environment: environment,
                            outputPath: outputPath)
        let status = wait(pid)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Output(status: status, text: text)
    }

    /// Starts `executable` in the background with stdout and stderr appended to `outputPath`.
    public static func spawn(_ executable: String, _ arguments: [String], currentDirectory: String? = nil,
                             environment: [String: String]? = nil, outputPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw ProcessError("posix_spawn_file_actions_init") }
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) == 0,
              posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600) == 0,
              posix_spawn_file_actions_adddup2(&actions, 1, 2) == 0 else {
            throw ProcessError("posix_spawn_file_actions setup")
        }
        // Glibc's posix_spawn_file_actions_addchdir_np is not visible to Swift: a shell changes
        // directory and then execs the program (same pid).
        var program = executable
        var argumentList = [executable] + arguments
        if let currentDirectory {
            program = "/bin/sh"
            argumentList = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", currentDirectory, executable] + arguments
        }
        let argv = argumentList.map { strdup($0) }
        defer { argv.forEach { free($0) } }
        let environmentStrings = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") }
        defer { environmentStrings.forEach { free($0) } }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { argvPointer in
            (environmentStrings + [nil]).withUnsafeBufferPointer { envPointer in
                posix_spawn(&pid, program, &actions, nil,
                            UnsafeMutablePointer(mutating: argvPointer.baseAddress!),
                            UnsafeMutablePointer(mutating: envPointer.baseAddress!))
            }
        }
        guard result == 0 else { throw ProcessError("cannot start \(executable): errno \(result)") }
        return pid
    }

    /// Waits for `pid`; returns its exit status (128+signal when killed).
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { return -1 }
        }
        return decode(status)
    }

    /// The exit status if `pid` has exited (reaping it), nil while it runs.
    public static func exitStatus(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { return decode(status) }
        return result == 0 ? nil : -1
    }

    private static func decode(_ status: Int32) -> Int32 {
        // WIFEXITED / WEXITSTATUS are macros; decode the wait status by hand.
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    public struct ProcessError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
