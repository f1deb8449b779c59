import NIOCore

/// JSON text that is already encoded and validated, written into replies as it is.
///
/// The gateway uses it to hand a service's `result` to its client without parsing it into a
/// ``JSONValue`` and serializing it again. Only code that checked the bytes (e.g. the RPC
/// client's response scanner) creates one.
public struct RawJSON: Sendable, Encodable, CustomStringConvertible {
    /// One complete JSON value.
    public let bytes: ByteBuffer

    /// Wraps bytes the caller has checked to be one complete JSON value.
    public init(validated bytes: ByteBuffer) {
        self.bytes = bytes
    }

    /// Parses the bytes (encoders other than ``JSONByteEncoder`` need a value to encode).
    public func parsed() throws(JSONParseError) -> JSONValue {
        try JSONValue.parse(bytes.readableBytesView, limits: .trusted)
    }

    public func encode(to encoder: any Encoder) throws {
        try parsed().encode(to: encoder)
    }

    public var description: String { String(buffer: bytes) }
}

extension JSONValue {
    /// Appends the compact JSON text of this value to `buffer`, object keys sorted.
    ///
    /// Recurses once per nesting level; values from the parser are bounded by its depth limit.
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .null:
            buffer.writeStaticString("null")
        case .bool(let value):
            buffer.writeStaticString(value ? "true" : "false")
        case .number(let literal):
            buffer.writeString(literal)
        case .string(let text):
            JSONStringEscaping.write(text, to: &buffer)
        case .array(let elements):
            buffer.writeInteger(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                element.write(to: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let members):
            buffer.writeInteger(UInt8(ascii: "{"))
            for (position, (key, value)) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                JSONStringEscaping.write(key, to: &buffer)
                buffer.writeInteger(UInt8(ascii: ":"))
                value.write(to: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }
}

/// Quoting and escaping of JSON strings into a `ByteBuffer`.
enum JSONStringEscaping {
    static func write(_ text: String, to buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { write($0, to: &buffer) }
    }

    /// Writes `bytes` (valid UTF-8) as a quoted JSON string: runs that need no escape are
    /// copied whole; quotes, backslashes and control characters are escaped.
    static func write(_ bytes: UnsafeBufferPointer<UInt8>, to buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: bytes.count + 2)
        buffer.writeInteger(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if runStart < index {
                buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<index])))
            }
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            case 0x09: buffer.writeStaticString("\\t")
            case 0x08: buffer.writeStaticString("\\b")
            case 0x0C: buffer.writeStaticString("\\f")
            default:
                let hex: StaticString = "0123456789abcdef"
                buffer.writeStaticString("\\u00")
                hex.withUTF8Buffer { digits in
                    buffer.writeInteger(digits[Int(byte >> 4)])
                    buffer.writeInteger(digits[Int(byte & 0x0F)])
                }
            }
        }
        if runStart < bytes.count {
            buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
