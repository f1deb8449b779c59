import CLibPQ
import Foundation
import MovRPostgres
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Child processes with posix_spawn + waitpid (initdb/pg_ctl here; the tools and tests use it too).
///
/// Foundation's `Process` is not used: its termination monitoring can miss SIGCHLD when other
/// libraries (test runners, event loops) manage signals, leaving `waitUntilExit` hanging.
public enum Subprocess {
    /// Runs `arguments[0]` (an absolute path) with stdin from /dev/null and stdout+stderr appended
    /// to `outputPath`. Returns the exit status (128+signal if killed).
    public static func run(_ arguments: [String], outputPath: String, currentDirectory: String? = nil,
                           environment: [String: String]? = nil) throws -> Int32 {
        wait(try spawn(arguments, outputPath: outputPath, currentDirectory: currentDirectory, environment: environment))
    }

    /// Starts `arguments[0]` in the background; stdout+stderr appended to `outputPath`.
    public static func spawn(_ arguments: [String], outputPath: String, currentDirectory: String? = nil,
                             environment: [String: String]? = nil) throws -> pid_t {
        precondition(!arguments.isEmpty)
        var fileActions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&fileActions) == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "posix_spawn_file_actions_init failed")
        }
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        let flags = O_WRONLY | O_CREAT | O_APPEND
        guard posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0) == 0,
              posix_spawn_file_actions_addopen(&fileActions, 1, outputPath, flags, 0o600) == 0,
              posix_spawn_file_actions_adddup2(&fileActions, 1, 2) == 0,
              // Nothing else is inherited: SwiftNIO's sockets are not close-on-exec, and a child
              // holding a copy keeps a connection open that this process has closed.
              posix_spawn_file_actions_addclosefrom_np(&fileActions, 3) == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "posix_spawn_file_actions setup failed")
        }
        // posix_spawn_file_actions_addchdir_np is not visible to Swift: a shell changes directory
        // and execs the program (same pid).
        var program = arguments[0]
        var argumentList = arguments
        if let currentDirectory {
            program = "/bin/sh"
            argumentList = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", currentDirectory] + arguments
        }
        let cArguments = argumentList.map { strdup($0) }
        defer { cArguments.forEach { free($0) } }
        let cEnvironment = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } }
        defer { cEnvironment?.forEach { free($0) } }
        // The child starts with no blocked signals and default handlers: a parent's threads (event
        // loops, dispatch) may block or ignore signals such as SIGALRM that the child relies on.
        var attributes = posix_spawnattr_t()
        guard posix_spawnattr_init(&attributes) == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "posix_spawnattr_init failed")
        }
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        var allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        guard posix_spawnattr_setsigmask(&attributes, &noSignals) == 0,
              posix_spawnattr_setsigdefault(&attributes, &allSignals) == 0,
              posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "posix_spawnattr setup failed")
        }
        var argv = cArguments + [nil]
        var envp = (cEnvironment ?? []) + [nil]
        var pid: pid_t = 0
        let spawned = cEnvironment == nil
            ? posix_spawn(&pid, program, &fileActions, &attributes, &argv, environ)
            : posix_spawn(&pid, program, &fileActions, &attributes, &argv, &envp)
        guard spawned == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "cannot start \(arguments[0]): errno \(spawned)")
        }
        return pid
    }

    /// Waits for `pid`; its exit status (128+signal if killed, -1 if it cannot be waited for).
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
}
