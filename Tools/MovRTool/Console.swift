import Foundation

/// Progress lines for the operator, written unbuffered so they reach a log file or pipe as they
/// happen (print() is block-buffered when stdout is not a terminal).
enum Console {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}

extension Console {
    /// A failure the operator should see, on stderr beside the progress lines.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
