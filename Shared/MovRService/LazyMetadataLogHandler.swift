import Logging

/// `StreamLogHandler`'s output, with the logger's metadata kept as set and formatted only when a
/// line is written.
///
/// `StreamLogHandler` formats its metadata (sorts the pairs, prints and joins them) on every
/// change. Each request sets its `request_id` on a copy of the logger, so that cost was paid per
/// request in every executable although, at the default level, most requests write no line
/// (setting it was 1.35 % of the gateway's samples under `wrk` on `vehicles.list`, 0.60 % with
/// this handler). Here the metadata is handed to the stream handler with each line instead,
/// where it is formatted once, in the same form.
struct LazyMetadataLogHandler: LogHandler {
    private var stream: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    init(wrapping stream: StreamLogHandler) {
        self.stream = stream
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            // The line's own metadata wins over the logger's, as in StreamLogHandler.
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, line in line }
        }
        stream.log(event: event)
    }
}
