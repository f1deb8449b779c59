import FoundationEssentials
import NIOCore

/// A value that writes its own JSON text, for the few types on the hot paths (vehicle and ride
/// listings): ``JSONByteEncoder`` calls it instead of walking the `Codable` conformance, whose
/// generic containers cost several times more per member. Its output must equal what the
/// `Encodable` conformance produces; tests compare the two for every conforming type.
public protocol JSONByteWritable: Encodable {
    func writeJSON(into writer: inout JSONByteWriter) throws
}

/// Writes compact JSON into a `ByteBuffer`: objects and arrays through closures (which keep
/// the separators right), keys as static strings, scalars without intermediate strings.
public struct JSONByteWriter {
    public var buffer: ByteBuffer
    /// Whether the innermost open container has no member yet.
    @usableFromInline var isFirst = true

    public init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Writes an object; `body` writes its members with ``key(_:)`` and a value each.
    @inlinable
    public mutating func object(_ body: (inout JSONByteWriter) throws -> Void) rethrows {
        buffer.writeInteger(UInt8(ascii: "{"))
        let outer = isFirst
        isFirst = true
        try body(&self)
        isFirst = outer
        buffer.writeInteger(UInt8(ascii: "}"))
    }

    /// Writes an array of `elements`, each by `element`.
    @inlinable
    public mutating func array<Elements: Sequence>(
        _ elements: Elements, _ element: (inout JSONByteWriter, Elements.Element) throws -> Void
    ) rethrows {
        buffer.writeInteger(UInt8(ascii: "["))
        let outer = isFirst
        var first = true
        for item in elements {
            if !first { buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            isFirst = true
            try element(&self, item)
        }
        isFirst = outer
        buffer.writeInteger(UInt8(ascii: "]"))
    }

    /// Starts the next member of the current object. `name` must need no escaping.
    @inlinable
    public mutating func key(_ name: StaticString) {
        if !isFirst { buffer.writeInteger(UInt8(ascii: ",")) }
        isFirst = false
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(name)
        buffer.writeStaticString("\":")
    }

    public mutating func null() { buffer.writeStaticString("null") }

    public mutating func bool(_ value: Bool) { buffer.writeStaticString(value ? "true" : "false") }

    public mutating func string(_ value: String) { JSONStringEscaping.write(value, to: &buffer) }

    public mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    public mutating func integer(_ value: Int) { JSONNumberWriting.writeInteger(value, to: &buffer) }

    public mutating func integer(_ value: Int?) {
        if let value { integer(value) } else { null() }
    }

    /// A finite double as `JSONEncoder` writes it; NaN and infinities are an `EncodingError`.
    public mutating func double(_ value: Double) throws { try JSONNumberWriting.writeDouble(value, to: &buffer) }

    /// A UUID as a lowercase string (the API's spelling of ids).
    public mutating func lowercaseUUID(_ value: UUID) { JSONNumberWriting.writeUUID(value, uppercase: false, to: &buffer) }

    public mutating func lowercaseUUID(_ value: UUID?) {
        if let value { lowercaseUUID(value) } else { null() }
    }

    /// Any other value, through its own writer or its `Encodable` conformance.
    public mutating func value<T: Encodable>(_ value: T) throws {
        if let writable = value as? any JSONByteWritable {
            try writable.writeJSON(into: &self)
        } else {
            try JSONByteEncoder.encode(value, into: &buffer)
        }
    }
}

/// Numbers and ids written as bytes, shared by ``JSONByteWriter`` and ``JSONByteEncoder``.
enum JSONNumberWriting {
    static func writeInteger<I: FixedWidthInteger>(_ value: I, to buffer: inout ByteBuffer) {
        if value == 0 {
            buffer.writeInteger(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        // 48 bytes: any 128-bit value fits.
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var position = scratch.count
            while magnitude != 0 {
                position -= 1
                scratch[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            }
            if value < 0 {
                position -= 1
                scratch[position] = UInt8(ascii: "-")
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[position...]))
        }
    }

    static func writeDouble(_ value: Double, to buffer: inout ByteBuffer) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "non-finite number"))
        }
        if value == 0, value.sign == .minus {
            buffer.writeStaticString("-0")
        } else if value.rounded() == value, abs(value) < 0x1p53 {
            // Integral values print without a fraction, as JSONEncoder does; below 2^53 exactly.
            writeInteger(Int64(value), to: &buffer)
        } else {
            // Swift's shortest round-trip form (what `description` and JSONEncoder print), written
            // as bytes: `description` would make a String, and one longer than 15 bytes (most
            // coordinates) is a heap allocation.
            withUnsafeMutablePointer(to: &buffer) { pointer in
                var stream = ASCIIBytes(buffer: pointer)
                value.write(to: &stream)
            }
        }
    }

    /// Receives a number's ASCII digits (`Double.write(to:)` hands them over as bytes).
    private struct ASCIIBytes: TextOutputStream {
        let buffer: UnsafeMutablePointer<ByteBuffer>

        mutating func write(_ string: String) {
            buffer.pointee.writeString(string)
        }

        mutating func _writeASCII(_ bytes: UnsafeBufferPointer<UInt8>) {
            buffer.pointee.writeBytes(UnsafeRawBufferPointer(bytes))
        }
    }

    /// A quoted UUID; upper case is `UUID.uuidString`'s form (what `Codable` writes).
    static func writeUUID(_ uuid: UUID, uppercase: Bool, to buffer: inout ByteBuffer) {
        let hex: StaticString = uppercase ? "0123456789ABCDEF" : "0123456789abcdef"
        _ = withUnsafeBytes(of: uuid.uuid) { bytes in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 38) { out in
                hex.withUTF8Buffer { digits in
                    var position = 0
                    out[position] = UInt8(ascii: "\""); position += 1
                    for index in 0..<16 {
                        if index == 4 || index == 6 || index == 8 || index == 10 {
                            out[position] = UInt8(ascii: "-"); position += 1
                        }
                        out[position] = digits[Int(bytes[index] >> 4)]
                        out[position + 1] = digits[Int(bytes[index] & 0x0F)]
                        position += 2
                    }
                    out[position] = UInt8(ascii: "\"")
                    return position + 1
                }
            }
        }
    }
}
