import FoundationEssentials
import MovRUUID
import NIOCore

/// A value that writes its own JSON text, for the few types on the hot paths (vehicle and ride
/// listings): ``JSONByteEncoder`` calls it instead of walking the `Codable` conformance, whose
/// generic containers cost several times more per member. Its output must equal what the
/// `Encodable` conformance produces; tests compare the two for every conforming type.
public protocol JSONByteWritable: Encodable {
    func writeJSON(into writer: inout JSONByteWriter) throws
}

extension JSONByteWritable {
    /// Appends the value's JSON text to `buffer`: written into the writer's own memory, sized
    /// like the room the caller left (the dispatcher sizes a result buffer from the method's
    /// previous result), then copied once. On error `buffer` is unchanged.
    public func appendJSON(to buffer: inout ByteBuffer) throws {
        var writer = JSONByteWriter(capacity: buffer.writableBytes)
        try writeJSON(into: &writer)
        writer.write(to: &buffer)
    }
}

/// Writes compact JSON into memory it owns: objects and arrays through closures (which keep the
/// separators right), keys as static strings, scalars without intermediate strings. The text
/// is then appended to a `ByteBuffer` in one copy (``write(to:)``).
///
/// Each write is a bounds check and a store into plain memory. Writing through `ByteBuffer`
/// instead costs a uniqueness check, a capacity check and a dynamic exclusivity check per call
/// (its storage is a class); for a 25-vehicle page that is some 900 calls, and they were most
/// of the page's writing time (docs/benchmarks.md, micro-benchmarks of 2026-12-03).
///
/// Not copyable: it owns its memory and frees it once.
public struct JSONByteWriter: ~Copyable {
    @usableFromInline var base: UnsafeMutableRawPointer
    @usableFromInline var capacity: Int
    /// Bytes written so far.
    @usableFromInline var count = 0
    /// Whether the innermost open container has no member yet.
    @usableFromInline var isFirst = true

    /// A writer whose memory starts at `capacity` bytes and doubles as needed.
    public init(capacity: Int = 1024) {
        self.capacity = max(capacity, 64)
        self.base = .allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit { base.deallocate() }

    /// The text written so far.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Appends the text written so far to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeBytes(bytes)
    }

    /// Room for `byteCount` more bytes.
    @inlinable @inline(__always)
    mutating func reserve(_ byteCount: Int) {
        if capacity &- count < byteCount { grow(byteCount) }
    }

    @usableFromInline
    mutating func grow(_ byteCount: Int) {
        var newCapacity = capacity * 2
        while newCapacity - count < byteCount { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 8)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inlinable @inline(__always)
    mutating func byte(_ value: UInt8) {
        reserve(1)
        base.storeBytes(of: value, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    @inlinable @inline(__always)
    mutating func raw(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        reserve(length)
        (base + count).copyMemory(from: text.utf8Start, byteCount: length)
        count &+= length
    }

    /// Writes at most `maxBytes` through `body`, which gets room for them and returns how many
    /// it wrote: for formats of bounded length (times, ids, numbers).
    @inlinable
    public mutating func writeBounded(maxBytes: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) {
        reserve(maxBytes)
        let written = body(UnsafeMutableRawBufferPointer(start: base + count, count: maxBytes))
        precondition(written >= 0 && written <= maxBytes, "bounded write out of its bounds")
        count &+= written
    }

    /// Writes an object; `body` writes its members with ``key(_:)`` and a value each.
    @inlinable
    public mutating func object(_ body: (inout JSONByteWriter) throws -> Void) rethrows {
        byte(UInt8(ascii: "{"))
        let outer = isFirst
        isFirst = true
        try body(&self)
        isFirst = outer
        byte(UInt8(ascii: "}"))
    }

    /// Writes an array of `elements`, each by `element`.
    @inlinable
    public mutating func array<Elements: Sequence>(
        _ elements: Elements, _ element: (inout JSONByteWriter, Elements.Element) throws -> Void
    ) rethrows {
        byte(UInt8(ascii: "["))
        let outer = isFirst
        var first = true
        for item in elements {
            if !first { byte(UInt8(ascii: ",")) }
            first = false
            isFirst = true
            try element(&self, item)
        }
        isFirst = outer
        byte(UInt8(ascii: "]"))
    }

    /// Starts the next member of the current object. `name` must need no escaping.
    @inlinable
    public mutating func key(_ name: StaticString) {
        let length = name.utf8CodeUnitCount
        reserve(length &+ 4)
        if !isFirst {
            base.storeBytes(of: UInt8(ascii: ","), toByteOffset: count, as: UInt8.self)
            count &+= 1
        }
        isFirst = false
        base.storeBytes(of: UInt8(ascii: "\""), toByteOffset: count, as: UInt8.self)
        (base + (count &+ 1)).copyMemory(from: name.utf8Start, byteCount: length)
        base.storeBytes(of: UInt8(ascii: "\""), toByteOffset: count &+ 1 &+ length, as: UInt8.self)
        base.storeBytes(of: UInt8(ascii: ":"), toByteOffset: count &+ 2 &+ length, as: UInt8.self)
        count &+= length &+ 3
    }

    public mutating func null() { raw("null") }

    public mutating func bool(_ value: Bool) { raw(value ? "true" : "false") }

    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { string(utf8: $0) }
    }

    public mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    /// A quoted string from valid UTF-8: runs that need no escape are copied whole, the rest
    /// escaped (``JSONStringEscaping``).
    public mutating func string(utf8 text: UnsafeBufferPointer<UInt8>) {
        reserve(text.count &+ 2)
        byte(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<text.count where JSONStringEscaping.needsEscape(text[index]) {
            append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(text)[runStart..<index]))
            runStart = index &+ 1
            writeBounded(maxBytes: JSONStringEscaping.maxEscapeBytes) {
                JSONStringEscaping.writeEscape(text[index], at: $0.baseAddress!)
            }
        }
        append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(text)[runStart...]))
        byte(UInt8(ascii: "\""))
    }

    /// Appends `bytes` as they are.
    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: start, byteCount: bytes.count)
        count &+= bytes.count
    }

    public mutating func integer(_ value: Int) {
        writeBounded(maxBytes: JSONNumberWriting.maxIntegerBytes) { JSONNumberWriting.writeInteger(value, at: $0) }
    }

    public mutating func integer(_ value: Int?) {
        if let value { integer(value) } else { null() }
    }

    /// A finite double as `JSONEncoder` writes it; NaN and infinities are an `EncodingError`.
    public mutating func double(_ value: Double) throws {
        try JSONNumberWriting.checkFinite(value)
        writeBounded(maxBytes: JSONNumberWriting.maxDoubleBytes) { JSONNumberWriting.writeFiniteDouble(value, at: $0) }
    }

    /// A UUID as a lowercase string (the API's spelling of ids).
    public mutating func lowercaseUUID(_ value: UUID) {
        writeBounded(maxBytes: JSONNumberWriting.quotedUUIDBytes) { JSONNumberWriting.writeUUID(value, uppercase: false, at: $0) }
    }

    public mutating func lowercaseUUID(_ value: UUID?) {
        if let value { lowercaseUUID(value) } else { null() }
    }

    /// A UUID as `UUID`'s own `Encodable` conformance spells it (`uuidString`, upper case): what
    /// synthesized conformances, e.g. of internal params, write.
    public mutating func uppercaseUUID(_ value: UUID) {
        writeBounded(maxBytes: JSONNumberWriting.quotedUUIDBytes) { JSONNumberWriting.writeUUID(value, uppercase: true, at: $0) }
    }

    /// Any other value, through its own writer or its `Encodable` conformance.
    public mutating func value<T: Encodable>(_ value: T) throws {
        if let writable = value as? any JSONByteWritable {
            try writable.writeJSON(into: &self)
        } else {
            var buffer = ByteBuffer()
            try JSONByteEncoder.encode(value, into: &buffer)
            buffer.withUnsafeReadableBytes { append($0) }
        }
    }
}

/// Numbers and ids written as bytes into room the caller provides (each function's maximum
/// below), shared by ``JSONByteWriter`` and ``JSONByteEncoder``; the HTTP writers of
/// MovRRPCTransport use its integers.
public enum JSONNumberWriting {
    /// Any integer up to 128 bits, with its sign.
    @usableFromInline static let maxIntegerBytes = 41
    /// The longest shortest-round-trip form of a double is 24 bytes (`-2.2250738585072014e-308`).
    static let maxDoubleBytes = 32
    static let quotedUUIDBytes = 38

    @inlinable
    static func writeInteger<I: FixedWidthInteger>(_ value: I, at out: UnsafeMutableRawBufferPointer) -> Int {
        if value == 0 {
            out[0] = UInt8(ascii: "0")
            return 1
        }
        var magnitude = value.magnitude
        // 48 bytes: any 128-bit value fits.
        var digits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &digits) { scratch in
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
            let length = scratch.count - position
            out.baseAddress!.copyMemory(from: scratch.baseAddress! + position, byteCount: length)
            return length
        }
    }

    static func checkFinite(_ value: Double) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "non-finite number"))
        }
    }

    /// A finite double as `JSONEncoder` writes it.
    static func writeFiniteDouble(_ value: Double, at out: UnsafeMutableRawBufferPointer) -> Int {
        if value == 0, value.sign == .minus {
            out[0] = UInt8(ascii: "-")
            out[1] = UInt8(ascii: "0")
            return 2
        } else if value.rounded() == value, abs(value) < 0x1p53 {
            // Integral values print without a fraction, as JSONEncoder does; below 2^53 exactly.
            return writeInteger(Int64(value), at: out)
        } else {
            // Swift's shortest round-trip form (what `description` and JSONEncoder print), taken
            // as bytes: `description` would make a String, and one longer than 15 bytes (most
            // coordinates) is a heap allocation.
            var stream = ASCIIBytes(out: out)
            value.write(to: &stream)
            return stream.count
        }
    }

    /// Receives a number's ASCII digits (`Double.write(to:)` hands them over as bytes).
    private struct ASCIIBytes: TextOutputStream {
        let out: UnsafeMutableRawBufferPointer
        var count = 0

        mutating func write(_ string: String) {
            var string = string
            string.withUTF8 { _writeASCII($0) }
        }

        mutating func _writeASCII(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let start = bytes.baseAddress else { return }
            precondition(bytes.count <= out.count - count, "a double longer than its bound")
            (out.baseAddress! + count).copyMemory(from: start, byteCount: bytes.count)
            count += bytes.count
        }
    }

    /// A quoted UUID; upper case is `UUID.uuidString`'s form (what `Codable` writes).
    static func writeUUID(_ uuid: UUID, uppercase: Bool, at out: UnsafeMutableRawBufferPointer) -> Int {
        out[0] = UInt8(ascii: "\"")
        UUIDText.write(uuid, uppercase: uppercase, to: UnsafeMutableRawBufferPointer(rebasing: out[1...]))
        out[UUIDText.byteCount + 1] = UInt8(ascii: "\"")
        return UUIDText.byteCount + 2
    }

    // The same into a `ByteBuffer` (``JSONByteEncoder``, the RPC client's envelope, and the
    // HTTP writers' status codes, lengths and deadlines). Inlinable, so callers in other modules
    // get it specialized for their integer type: the unspecialized generic's arithmetic goes
    // through witness tables and cost the gateway about 2.5 % of its CPU per request.

    @inlinable
    public static func writeInteger<I: FixedWidthInteger>(_ value: I, to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maxIntegerBytes) { writeInteger(value, at: $0) }
    }

    static func writeDouble(_ value: Double, to buffer: inout ByteBuffer) throws {
        try checkFinite(value)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maxDoubleBytes) { writeFiniteDouble(value, at: $0) }
    }

    static func writeUUID(_ uuid: UUID, uppercase: Bool, to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: quotedUUIDBytes) { writeUUID(uuid, uppercase: uppercase, at: $0) }
    }
}
