import Foundation
import MovRDevTools

/// Child processes for tests, through ``ToolProcess`` (swift-subprocess; see there what the
/// child inherits and why not Foundation's `Process`).
public enum TestProcess {
    public struct Output: Sendable {
        public var status: Int32
        public var text: String
    }

    /// Runs `executable` to completion; stdout and stderr are captured together. The wait is
    /// asynchronous: no thread of Swift's cooperative pool (two on two cores) blocks meanwhile.
    public static func run(_ executable: String, _ arguments: [String], currentDirectory: String? = nil,
                           environment: [String: String]? = nil) async throws -> Output {
        let (status, text) = try await ToolProcess.output([executable] + arguments, currentDirectory: currentDirectory,
                                                          environment: environment)
        return Output(status: status, text: text)
    }

    /// Starts `executable` in the background with stdout and stderr appended to `outputPath`.
    public static func spawn(_ executable: String, _ arguments: [String], currentDirectory: String? = nil,
                             environment: [String: String]? = nil, outputPath: String) async throws -> BackgroundProcess {
        try await ToolProcess.start([executable] + arguments, outputPath: outputPath, currentDirectory: currentDirectory,
                                    environment: environment)
    }
}
