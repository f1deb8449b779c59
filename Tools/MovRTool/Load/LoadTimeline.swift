import Foundation

/// Every request of a `movr load run --timeline FILE`, one line each when it finished:
/// `<sent> <finished> <operation> <outcome>` with Unix times in seconds and the outcome `ok`,
/// `expected:<kind>` or `error:<kind>` (spaces in the kind become `_`). Fault tests
/// (`make test-faults`) read it to find when each fault began to show and when requests
/// succeeded again.
public final class LoadTimeline: Sendable {
    private let handle: FileHandle
    private let lock = NSLock()

    /// Truncates or creates `path` (mode 0600).
    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw StackError("cannot write \(path)")
        }
        self.handle = handle
    }

    public func record(_ step: LoadStep, sent: Date, finished: Date) {
        let outcome = switch step.outcome {
        case .success: "ok"
        case .expected(let kind): "expected:" + kind.replacingOccurrences(of: " ", with: "_")
        case .error(let kind): "error:" + kind.replacingOccurrences(of: " ", with: "_")
        }
        let line = String(format: "%.6f %.6f ", sent.timeIntervalSince1970, finished.timeIntervalSince1970)
            + "\(step.operation.rawValue) \(outcome)\n"
        lock.withLock { handle.write(Data(line.utf8)) }
    }
}
