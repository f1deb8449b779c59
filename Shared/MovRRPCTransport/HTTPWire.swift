import MovRRPC
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
    /// integer: nothing to check. The digits are written in place (not through `String`).
    static func writeHeader(_ name: String, integer value: some FixedWidthInteger, into buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        JSONNumberWriting.writeInteger(value, to: &buffer)
        buffer.writeStaticString("\r\n")
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
