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

    /// Appends the text to `buffer` as it is.
    public func write(to buffer: inout ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }
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

/// Quoting and escaping of JSON strings: what needs an escape and how it is spelled (shared with
/// ``JSONByteWriter``), and the quoted string into a `ByteBuffer`.
enum JSONStringEscaping {
    /// The longest escape (`\u001f`).
    static let maxEscapeBytes = 6

    /// Whether `byte` of a string's UTF-8 must be escaped: quotes, backslashes, control
    /// characters (as `JSONEncoder` does, `/` is not).
    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Writes the escape of `byte` (one that ``needsEscape(_:)``) at `out`, which has room for
    /// ``maxEscapeBytes``; returns its length.
    static func writeEscape(_ byte: UInt8, at out: UnsafeMutableRawPointer) -> Int {
        let short: UInt8? = switch byte {
        case UInt8(ascii: "\""): UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): UInt8(ascii: "\\")
        case 0x0A: UInt8(ascii: "n")
        case 0x0D: UInt8(ascii: "r")
        case 0x09: UInt8(ascii: "t")
        case 0x08: UInt8(ascii: "b")
        case 0x0C: UInt8(ascii: "f")
        default: nil
        }
        out.storeBytes(of: UInt8(ascii: "\\"), as: UInt8.self)
        if let short {
            out.storeBytes(of: short, toByteOffset: 1, as: UInt8.self)
            return 2
        }
        let hex: StaticString = "0123456789abcdef"
        (out + 1).copyMemory(from: ("u00" as StaticString).utf8Start, byteCount: 3)
        out.storeBytes(of: hex.utf8Start[Int(byte >> 4)], toByteOffset: 4, as: UInt8.self)
        out.storeBytes(of: hex.utf8Start[Int(byte & 0x0F)], toByteOffset: 5, as: UInt8.self)
        return 6
    }

    static func write(_ text: String, to buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { write($0, to: &buffer) }
    }

    /// Writes `bytes` (valid UTF-8) as a quoted JSON string: runs that need no escape are
    /// copied whole, the rest escaped.
    static func write(_ bytes: UnsafeBufferPointer<UInt8>, to buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: bytes.count + 2)
        buffer.writeInteger(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<bytes.count where needsEscape(bytes[index]) {
            if runStart < index {
                buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<index])))
            }
            runStart = index + 1
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maxEscapeBytes) {
                writeEscape(bytes[index], at: $0.baseAddress!)
            }
        }
        if runStart < bytes.count {
            buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
