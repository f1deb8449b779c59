import Logging
@testable import MovRService
import NIOConcurrencyHelpers
import Testing

/// The executables' log handler writes what `StreamLogHandler` writes, with the logger's metadata
/// formatted when a line is written rather than when it is set.
@Suite struct LogHandlerTests {
    final class Capture: TextOutputStream, Sendable {
        private let lines = NIOLockedValueBox<[String]>([])
        func write(_ string: String) { lines.withLockedValue { $0.append(string) } }
        /// Each line without its timestamp (the first field).
        var written: [String] { lines.withLockedValue { $0 }.map { String($0.drop(while: { $0 != " " })) } }
    }

    func logger(_ capture: Capture, lazy: Bool) -> Logger {
        let stream = StreamLogHandler(label: "movr.test", stream: capture, metadataProvider: nil)
        return Logger(label: "movr.test") { _ in
            if lazy { return LazyMetadataLogHandler(wrapping: stream) }
            return stream
        }
    }

    @Test func linesAreWhatStreamLogHandlerWrites() {
        let lazyCapture = Capture()
        let plainCapture = Capture()
        for (capture, lazy) in [(lazyCapture, true), (plainCapture, false)] {
            var logger = logger(capture, lazy: lazy)
            logger.logLevel = .info
            logger.info("no metadata")
            logger[metadataKey: "request_id"] = "4bf92f3577b34da6a3ce929d0e0e4736"
            logger[metadataKey: "region"] = "us-east1"
            logger.info("with the logger's metadata")
            logger.warning("the line's own wins", metadata: ["region": "europe-west1", "reason": "test"])
            logger.debug("below the level")
            logger[metadataKey: "region"] = nil
            logger.error("after a removal")
        }
        #expect(lazyCapture.written.count == 4)
        #expect(lazyCapture.written == plainCapture.written)
        #expect(lazyCapture.written[2].contains("reason=test region=europe-west1 request_id=4bf92f3577b34da6a3ce929d0e0e4736"))
    }

    @Test func levelAndMetadataAreReadBack() {
        var logger = logger(Capture(), lazy: true)
        logger.logLevel = .warning
        logger[metadataKey: "k"] = "v"
        #expect(logger.logLevel == .warning)
        #expect(logger[metadataKey: "k"] == "v")
        var copy = logger
        copy[metadataKey: "k"] = "other"
        #expect(logger[metadataKey: "k"] == "v")
    }
}
