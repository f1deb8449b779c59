import FoundationEssentials

/// UUIDs in their canonical text form (8-4-4-4-12 hex digits), read and written byte by byte.
///
/// Foundation's `UUID(uuidString:)` parses with `sscanf` on Linux and `uuidString` formats an
/// uppercase string that the API then lowercases; ids cross every request path (params, rows,
/// results), so both directions are done here instead, for JSON (MovRRPC, MovRAPI) and
/// PostgreSQL text values (MovRPostgres). The accepted form is the canonical one: 36 bytes,
/// dashes at 8, 13, 18 and 23, hex digits of either case elsewhere — read as
/// `UUID(uuidString:)` reads it; the text Foundation's `sscanf` also lets through (a sign, a
/// space or a second dash inside a group) is refused (`UUIDTextTests` compares the two on
/// mutated input).
public enum UUIDText {
    /// Bytes of the canonical form.
    public static let byteCount = 36

    /// The UUID the canonical text in `bytes` spells, or nil.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> UUID? {
        guard bytes.count == byteCount else { return nil }
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let valid = withUnsafeMutableBytes(of: &value) { output -> Bool in
            var input = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    guard bytes[input] == UInt8(ascii: "-") else { return false }
                    input += 1
                }
                guard let high = hexValue(bytes[input]), let low = hexValue(bytes[input + 1]) else { return false }
                output[index] = high << 4 | low
                input += 2
            }
            return true
        }
        return valid ? UUID(uuid: value) : nil
    }

    /// The UUID `text` spells in the canonical form, or nil.
    public static func parse(_ text: String) -> UUID? {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    @inlinable @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }

    /// Writes the canonical text of `uuid` at the start of `out` (at least ``byteCount`` bytes);
    /// upper case is `uuidString`'s form, lower case the API's. Returns ``byteCount``.
    @inlinable @discardableResult
    public static func write(_ uuid: UUID, uppercase: Bool, to out: UnsafeMutableRawBufferPointer) -> Int {
        precondition(out.count >= byteCount, "no room for a UUID's text")
        let digits = (uppercase ? "0123456789ABCDEF" as StaticString : "0123456789abcdef").utf8Start
        withUnsafeBytes(of: uuid.uuid) { bytes in
            var position = 0
            for index in 0..<16 {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    out[position] = UInt8(ascii: "-")
                    position += 1
                }
                out[position] = digits[Int(bytes[index] >> 4)]
                out[position + 1] = digits[Int(bytes[index] & 0x0F)]
                position += 2
            }
        }
        return byteCount
    }

    /// Lowercase canonical text (what `uuidString.lowercased()` gives), written straight into
    /// the string's storage.
    public static func lowercase(_ uuid: UUID) -> String {
        String(unsafeUninitializedCapacity: byteCount) { output in
            write(uuid, uppercase: false, to: UnsafeMutableRawBufferPointer(output))
        }
    }
}

extension UUIDText {
    /// A random (version 4) UUID: 122 bits from the system's random source, as Foundation's
    /// `UUID()` gives, through the standard library's generator (two `getrandom` calls).
    /// Foundation's `UUID()` on Linux opens, reads and closes `/dev/urandom` for every id (three
    /// system calls and a path lookup), which showed as 3 % of the load engine's CPU; ids minted
    /// per request (idempotency keys, request ids) come from here.
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next()
        var low = generator.next()
        high = high & ~(0xF000 as UInt64) | 0x4000  // version 4 (byte 6's high nibble)
        low = low & ~(0xC0 << 56 as UInt64) | 0x80 << 56  // RFC 4122 variant (byte 8's top bits)
        let (h, l) = (high.bigEndian, low.bigEndian)
        return withUnsafeBytes(of: (h, l)) { bytes in
            UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                        bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        }
    }
}
