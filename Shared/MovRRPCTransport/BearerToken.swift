import FoundationEssentials
import MovRRPC

/// The token of an `Authorization: Bearer <token>` header, as the gateway accepts it: the
/// scheme in any case, one space, then 1...256 bytes (surrounding spaces trimmed); nil for
/// anything else.
public enum BearerToken {
    public static func parse(authorization header: String) -> String? {
        // Tokens are ASCII: read such a header by bytes. Splitting and trimming by `Character`
        // (grapheme breaking, an unspecialized generic trim) took 3.5 % of the gateway's CPU
        // under the ride mix. Anything else keeps the `Character` reading, which the bytes would
        // not match for a space that begins a grapheme (a combining mark after it).
        guard header.utf8.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == tab }),
              let answer = header.utf8.withContiguousStorageIfAvailable(parse) else {
            return parseCharacters(header)
        }
        return answer
    }

    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")

    /// The byte-level reading of an ASCII header (space and tab being graphemes of their own),
    /// which answers as ``parseCharacters(_:)`` does.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var index = bytes.startIndex
        // Splitting on spaces omits empty pieces: spaces before the scheme do not count.
        while index < bytes.endIndex, bytes[index] == space { index += 1 }
        let schemeStart = index
        while index < bytes.endIndex, bytes[index] != space { index += 1 }
        guard index < bytes.endIndex, index - schemeStart == 6 else { return nil }
        for (offset, letter) in "bearer".utf8.enumerated() where bytes[schemeStart + offset] | 0x20 != letter {
            return nil
        }
        var start = index + 1, end = bytes.endIndex
        while start < end, bytes[start] == space || bytes[start] == tab { start += 1 }
        while end > start, bytes[end - 1] == space || bytes[end - 1] == tab { end -= 1 }
        guard (1...256).contains(end - start) else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// The reading by `Character`, for headers with bytes outside printable ASCII and tab.
    static func parseCharacters(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = String(parts[1].trimmingOptionalWhitespace())
        guard (1...256).contains(token.utf8.count) else { return nil }
        return token
    }
}
