import NIOCore

/// What MovR's HTTP/1.1 writers share (the server's responses, ``RPCHTTPHandler``; the RPC
/// client's requests, ``HTTPClientWire``): header lines written straight into a buffer, checked
/// as they are written.
enum HTTPWire {
    /// A header the writers refuse: a name that is not an HTTP token, or a value with CR, LF or
    /// NUL (which would end the header early and let its value inject others).
    struct InvalidHeader: Error, CustomStringConvertible {
        var name: String
        var description: String { "invalid header \(name)" }
    }

    /// Appends `name: value` and CRLF, or throws (writing nothing) when either is invalid.
    static func writeHeader(_ name: String, _ value: String, into buffer: inout ByteBuffer) throws {
        guard isToken(name.utf8), isSendableValue(value) else {
            throw InvalidHeader(name: String(name.prefix(64)))
        }
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    /// A header of MovR's own whose name is a constant token and whose value is a decimal
    /// integer: nothing to check.
    static func writeHeader(_ name: String, integer value: some BinaryInteger, into buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        writeDecimal(value, into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// The decimal digits of `value` (a `-` first when negative), written in place: every
    /// request and response carries a length and the calls a deadline, and going through
    /// `String(value)` cost more than the rest of the header line.
    static func writeDecimal(_ value: some BinaryInteger, into buffer: inout ByteBuffer) {
        if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        // Up to 39 digits (a 128-bit magnitude), filled from the end.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { digits in
            var start = digits.count
            repeat {
                let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: remainder)
                magnitude = quotient
            } while magnitude != 0
            buffer.writeBytes(UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// A header value with no CR, LF or NUL: one that cannot end its line early.
    static func isSendableValue(_ value: String) -> Bool {
        !value.utf8.contains(where: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") || $0 == 0 })
    }

    /// RFC 9110 `token`: visible ASCII except delimiters.
    static func isToken(_ bytes: some Collection<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy(isTokenByte)
    }

    /// One bit per ASCII byte allowed in a token (RFC 9110 `tchar`: letters, digits and the
    /// fifteen symbols it lists), bytes 0-63 in the low word, 64-127 in the high one; the tests
    /// check every byte against the RFC's list.
    private static let tokenLow: UInt64 = 0x03FF_6CFA_0000_0000
    private static let tokenHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        byte < 64 ? tokenLow & (1 << UInt64(byte)) != 0 : byte < 128 && tokenHigh & (1 << UInt64(byte &- 64)) != 0
    }
}
