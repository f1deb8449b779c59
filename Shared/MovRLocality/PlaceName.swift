/// Canonical spelling of city and region names, so that `" New   York "`, `"new york"` and
/// `"NEW YORK"` name the same city everywhere (config, headers, params, database rows).
public enum PlaceName {
    /// Trimmed, lowercased, with every run of internal whitespace collapsed to one space.
    public static func normalized(_ name: String) -> String {
        // Most names arrive canonical already (the web UI and clients send the names
        // `cities.list` gave them); checking that is a byte loop, where splitting on
        // `Character.isWhitespace` walks grapheme clusters (a visible share of a gateway's
        // CPU per request).
        if isCanonicalASCII(name) { return name }
        return name.split(whereSeparator: \.isWhitespace).joined(separator: " ").lowercased()
    }

    /// Whether `name` is ASCII without uppercase letters or control characters, with single
    /// spaces only between other characters: then ``normalized(_:)`` would return it unchanged.
    /// Anything else (any non-ASCII byte included) takes the general path.
    static func isCanonicalASCII(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            guard let first = bytes.first, let last = bytes.last, first != 0x20, last != 0x20 else {
                return bytes.isEmpty
            }
            var previous: UInt8 = 0
            for byte in bytes {
                switch byte {
                case 0x20 where previous == 0x20: return false
                case 0x20, 0x21..<0x41, 0x5B..<0x7F: break  // not a control, not A-Z, not DEL
                default: return false
                }
                previous = byte
            }
            return true
        }
    }
}
