import Foundation
@testable import MovRLocality

/// Paths to the repository's default config files and scratch files for invalid variants.
enum TestConfig {
    /// `<repo>/config`, found from this source file so tests do not depend on the current
    /// directory; symlinks are resolved because dev packages link `Tests/` into the repository.
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .resolvingSymlinksInPath()
        .deletingLastPathComponent()  // MovRLocalityTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("config")

    static var localityPath: String { directory.appendingPathComponent("locality.json").path }

    static func defaultLocality() throws -> Locality { try Locality.load(from: localityPath) }

    /// Writes `contents` to a fresh temporary file, runs `body` with its path, then deletes it.
    static func withTemporaryFile<T>(_ contents: String, _ body: (String) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("movr-locality-test-\(UUID().uuidString).json")
        try contents.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }
}

/// A deterministic generator (SplitMix64) so failures of random-draw tests reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
