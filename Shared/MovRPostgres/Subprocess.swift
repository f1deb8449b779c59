#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program to completion with posix_spawn + waitpid.
///
/// Foundation's `Process` is not used: its termination monitoring can miss SIGCHLD when other
/// libraries (test runners, event loops) manage signals, leaving `waitUntilExit` hanging.
enum Subprocess {
    /// Runs `arguments[0]` (an absolute path) with stdin from /dev/null and stdout+stderr appended
    /// to `outputPath`. Returns the exit status (128+signal if killed).
    static func run(_ arguments: [String], outputPath: String) throws -> Int32 {
        precondition(!arguments.isEmpty)
        var fileActions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&fileActions) == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "posix_spawn_file_actions_init failed")
        }
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        let flags = O_WRONLY | O_CREAT | O_APPEND
        guard posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0) == 0,
              posix_spawn_file_actions_addopen(&fileActions, 1, outputPath, flags, 0o600) == 0,
              posix_spawn_file_actions_adddup2(&fileActions, 1, 2) == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "posix_spawn_file_actions setup failed")
        }
        let cArguments = arguments.map { strdup($0) }
        defer { cArguments.forEach { free($0) } }
        var argv = cArguments + [nil]
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &fileActions, nil, &argv, environ)
        guard spawned == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "cannot start \(arguments[0]): errno \(spawned)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else {
                throw PostgresError(code: .clusterControl, serverMessage: "waitpid failed: errno \(errno)")
            }
        }
        // WIFEXITED / WEXITSTATUS are macros; decode the wait status by hand.
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
