import Foundation
import MovRDevTools
import NIOPosix

/// Child processes for tests (posix_spawn + waitpid through ``Subprocess``; see there why not
/// Foundation's `Process`).
public enum TestProcess {
    public struct Output: Sendable {
        public var status: Int32
        public var text: String
    }

    /// Runs `executable` to completion; stdout and stderr are captured together. The blocking
    /// wait runs on NIO's blocking-work pool: a test that waited on Swift's cooperative pool
    /// (two threads on two cores) would starve every other test's continuations meanwhile.
    public static func run(_ executable: String, _ arguments: [String], currentDirectory: String? = nil,
                           environment: [String: String]? = nil) async throws -> Output {
        let outputPath = NSTemporaryDirectory() + "movr-proc-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status = try await NIOThreadPool.singleton.runIfActive {
            try Subprocess.run([executable] + arguments, outputPath: outputPath,
                               currentDirectory: currentDirectory, environment: environment)
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Output(status: status, text: text)
    }

    /// Starts `executable` in the background with stdout and stderr appended to `outputPath`.
    public static func spawn(_ executable: String, _ arguments: [String], currentDirectory: String? = nil,
                             environment: [String: String]? = nil, outputPath: String) throws -> pid_t {
        try Subprocess.spawn([executable] + arguments, outputPath: outputPath, currentDirectory: currentDirectory,
                             environment: environment)
    }

    /// The exit status if `pid` has exited, nil while it runs.
    public static func exitStatus(_ pid: pid_t) -> Int32? {
        Subprocess.exitStatus(pid)
    }
}
