import Foundation

/// A status line on stderr: rewritten in place on a terminal, one line per update otherwise
/// (logs and pipes), so stdout stays free for the report.
struct ProgressLine: Sendable {
    private let terminal = isatty(STDERR_FILENO) == 1

    func update(_ text: String) {
        write(terminal ? "\r\u{1B}[K" + text : text + "\n")
    }

    /// Ends the line being rewritten so what follows starts on a fresh line.
    func finish() {
        if terminal { write("\n") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
