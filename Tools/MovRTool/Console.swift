import Foundation

/// Progress lines for the operator, written unbuffered so they reach a log file or pipe as they
/// happen (print() is block-buffered when stdout is not a terminal).
enum Console {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
