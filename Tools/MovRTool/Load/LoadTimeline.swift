import Foundation

/// Every request of a `movr load run --timeline FILE`, one line each when it finished:
/// `<sent> <finished> <operation> <outcome>` with Unix times in seconds and the outcome `ok`,
/// `expected:<kind>` or `error:<kind>` (spaces in the kind become `_`), then what the gateway's
/// last reply of the step said of its own time in its `Server-Timing` header, when it sent one:
/// `gateway=<ms>` (its total), `local:<region>/<method>=<ms>` or `remote:...` (each service
/// call), so a slow request shows which hop held it. Fault tests (`make test-faults`) read it
/// to find when each fault began to show and when requests succeeded again.
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

    public func record(_ step: LoadStep, sent: Date, finished: Date, serverTiming: String? = nil) {
        let line = Self.line(step, sent: sent, finished: finished, serverTiming: serverTiming)
        lock.withLock { handle.write(Data(line.utf8)) }
    }

    static func line(_ step: LoadStep, sent: Date, finished: Date, serverTiming: String?) -> String {
        let outcome = switch step.outcome {
        case .success: "ok"
        case .expected(let kind): "expected:" + kind.replacingOccurrences(of: " ", with: "_")
        case .error(let kind): "error:" + kind.replacingOccurrences(of: " ", with: "_")
        }
        var line = String(format: "%.6f %.6f ", sent.timeIntervalSince1970, finished.timeIntervalSince1970)
            + "\(step.operation.rawValue) \(outcome)"
        for entry in ServerTiming.parse(serverTiming ?? "") {
            let name = entry.isServiceCall
                ? entry.name + ":" + entry.description.replacingOccurrences(of: " ", with: "/")
                : entry.name
            // Names come from the reply: keep each field one word.
            line += " " + name.filter { !$0.isWhitespace && $0 != "=" } + "=" + String(format: "%.1f", entry.milliseconds)
        }
        return line + "\n"
    }
}
