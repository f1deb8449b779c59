import Logging
import Synchronization
import Testing

@testable import MovRRPC

/// Sends `body` through `dispatcher` and parses the reply; `nil` when there is none.
func respond(_ dispatcher: RPCDispatcher, _ body: String, context: RPCContext = RPCContext(requestID: "req-1"))
    async throws -> JSONValue?
{
    guard let reply = await dispatcher.handle(body: Array(body.utf8), context: context) else { return nil }
    return try JSONValue.parse(reply)
}

/// `value` with every error's `data` member removed, to compare with the spec's examples.
func withoutErrorData(_ value: JSONValue) -> JSONValue {
    switch value {
    case .array(let elements):
        return .array(elements.map(withoutErrorData))
    case .object(var members):
        if case .object(var error)? = members["error"] {
            error["data"] = nil
            members["error"] = .object(error)
        }
        return .object(members)
    default:
        return value
    }
}

func parseJSON(_ text: String) throws -> JSONValue {
    try JSONValue.parse(Array(text.utf8))
}

/// Log entries recorded by ``RecordingLogHandler``.
final class LogStore: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    private let storage = Mutex<[Entry]>([])

    var entries: [Entry] { storage.withLock { $0 } }

    func append(_ entry: Entry) { storage.withLock { $0.append(entry) } }

    /// A logger whose entries land in this store.
    func logger() -> Logger {
        Logger(label: "test") { _ in RecordingLogHandler(store: self) }
    }
}

/// Records log entries so tests can check what reached the log.
struct RecordingLogHandler: LogHandler {
    let store: LogStore
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        merged.merge(event.metadata ?? [:]) { _, new in new }
        store.append(LogStore.Entry(level: event.level, message: "\(event.message)", metadata: merged))
    }
}
