import FoundationEssentials
import NIOCore

/// Encodes `Encodable` values as compact JSON straight into a `ByteBuffer`, in one pass.
///
/// This is the result path of every JSON-RPC reply: no Foundation `JSONEncoder`, no
/// intermediate ``JSONValue`` tree, no re-parse. The output follows `JSONEncoder`'s default
/// strategies (keys as spelled, `nil` optionals omitted by synthesized conformances, `Date` as
/// seconds since the reference date, `Decimal` as a number, `Data` as base64, slashes
/// unescaped), so values read back with `JSONDecoder` or ``JSONValue/decode(as:)`` unchanged.
///
/// Streaming works because a `Codable` conformance writes its members in order: a container
/// is opened (its bracket written) when first asked for, and closed when a member of an
/// enclosing container is written or the value's `encode(to:)` returns. A conformance that
/// goes back to a container after a sibling was written gets an `EncodingError` rather than
/// malformed output.
public enum JSONByteEncoder {
    /// Appends the JSON text of `value` to `buffer`.
    ///
    /// On error the buffer is restored to its state before the call.
    public static func encode<T: Encodable>(_ value: T, into buffer: inout ByteBuffer) throws {
        let writerIndex = buffer.writerIndex
        let state = EncodingState(buffer: buffer)
        // Drop the caller's reference while encoding so appends don't copy the storage.
        buffer = ByteBuffer()
        defer { buffer = state.buffer }
        do {
            try state.encodeValue(value)
            state.closeFrames(downTo: 0)
        } catch {
            state.buffer.moveWriterIndex(to: writerIndex)
            throw error
        }
    }

    /// The JSON text of `value` as bytes.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 256)
        try encode(value, into: &buffer)
        return Array(buffer.readableBytesView)
    }
}

/// How a method's results are written, decided once when the method is registered: its
/// result type is ``RawJSON`` (bytes already checked, appended as they are), a
/// ``JSONByteWritable`` (its own writer), or anything else (``JSONByteEncoder``). Deciding per
/// value took six runtime casts for every reply of a writable type, two of them conformance
/// lookups (`any FixedWidthInteger`, `any JSONByteWritable`).
public struct JSONResultEncoder<T: Encodable>: @unchecked Sendable {  // immutable; a metatype
    private enum Kind {
        case raw
        case writable(any JSONByteWritable.Type)
        case general
    }

    private let kind: Kind

    public init(_ type: T.Type = T.self) {
        if type == RawJSON.self {
            kind = .raw
        } else if let writable = type as? any JSONByteWritable.Type {
            kind = .writable(writable)
        } else {
            kind = .general
        }
    }

    /// Appends the JSON text of `value`; on error the buffer is as it was.
    public func encode(_ value: T, into buffer: inout ByteBuffer) throws {
        switch kind {
        case .raw:
            Self.same(value, as: RawJSON.self).write(to: &buffer)
        case .writable(let writable):
            try Self.append(value, as: writable, to: &buffer)
        case .general:
            try JSONByteEncoder.encode(value, into: &buffer)
        }
    }

    /// `value` as `U`, which the initializer found `T` to be: a copy through a rebound pointer,
    /// with no runtime cast.
    private static func same<U>(_ value: T, as _: U.Type) -> U {
        withUnsafePointer(to: value) { $0.withMemoryRebound(to: U.self, capacity: 1) { $0.pointee } }
    }

    private static func append<W: JSONByteWritable>(_ value: T, as _: W.Type, to buffer: inout ByteBuffer) throws {
        try same(value, as: W.self).appendJSON(to: &buffer)
    }
}

/// One open container while encoding.
private struct Frame {
    var isObject: Bool
    var count: Int
    /// Distinguishes a frame from a later one at the same stack position.
    var serial: Int
}

/// The output and the open containers; shared by the encoder and its containers, which are
/// value types handed to conformances. Used by one encoding call on one thread.
private final class EncodingState {
    var buffer: ByteBuffer
    var frames: [Frame] = []
    var nextSerial = 0
    /// Stack height when the value being encoded now started; containers it opens sit above.
    var slotBase = 0
    /// Whether the value being encoded now has written anything yet.
    var slotFilled = false

    init(buffer: ByteBuffer) {
        self.buffer = buffer
        frames.reserveCapacity(8)
    }

    // MARK: Values

    func encodeValue<T: Encodable>(_ value: T) throws {
        // Metatype comparisons are cheap and reject most types without a dynamic cast.
        if T.self == String.self, let string = value as? String {
            writeString(string)
        } else if T.self == Int.self, let integer = value as? Int {
            writeInteger(integer)
        } else if T.self == Double.self, let number = value as? Double {
            try writeDouble(number)
        } else if T.self == Bool.self, let flag = value as? Bool {
            buffer.writeStaticString(flag ? "true" : "false")
        } else if T.self == UUID.self, let uuid = value as? UUID {
            writeUUID(uuid)
        } else if T.self == RawJSON.self, let raw = value as? RawJSON {
            raw.write(to: &buffer)
        } else if T.self == JSONValue.self, let json = value as? JSONValue {
            json.write(to: &buffer)
        } else if Self.isStandardInteger(T.self), let integer = value as? any FixedWidthInteger {
            writeInteger(integer)
        } else if T.self == Float.self, let number = value as? Float {
            guard number.isFinite else { throw invalid(value, "non-finite number") }
            buffer.writeString(number.description)
        } else if T.self == Decimal.self, let decimal = value as? Decimal {
            guard decimal.isFinite else { throw invalid(value, "non-finite decimal") }
            buffer.writeString(decimal.description)
        } else if T.self == Data.self, let data = value as? Data {
            writeString(data.base64EncodedString())
        } else if T.self == URL.self, let url = value as? URL {
            writeString(url.absoluteString)
        } else {
            try encodeComposite(value)
        }
    }

    /// The standard library's fixed-width integers other than `Int` (compared above), by
    /// metatype: a cast to `any FixedWidthInteger` looks the conformance up for every value,
    /// composite ones included, which was most of the encoder's runtime-cast cost. An integer
    /// type of one's own encodes through its `Encodable` conformance, as with `JSONEncoder`.
    private static func isStandardInteger<T>(_ type: T.Type) -> Bool {
        type == Int64.self || type == Int32.self || type == UInt8.self || type == UInt64.self
            || type == Int16.self || type == Int8.self || type == UInt.self || type == UInt32.self
            || type == UInt16.self
    }

    private func encodeComposite<T: Encodable>(_ value: T) throws {
        if let writable = value as? any JSONByteWritable {
            try writable.appendJSON(to: &buffer)  // hand-written for speed
            return
        }
        let (outerBase, outerFilled) = (slotBase, slotFilled)
        slotBase = frames.count
        slotFilled = false
        defer { (slotBase, slotFilled) = (outerBase, outerFilled) }
        try value.encode(to: ByteEncoder(state: self))
        let base = slotBase
        if !slotFilled {
            // Nothing encoded: `JSONEncoder` writes an empty object for such a value.
            buffer.writeStaticString("{}")
        }
        closeFrames(downTo: base)
    }

    func writeInteger<I: FixedWidthInteger>(_ value: I) {
        JSONNumberWriting.writeInteger(value, to: &buffer)
    }

    func writeDouble(_ value: Double) throws {
        try JSONNumberWriting.writeDouble(value, to: &buffer)
    }

    /// `UUID.uuidString`'s form (upper case), without building the string.
    func writeUUID(_ uuid: UUID) {
        JSONNumberWriting.writeUUID(uuid, uppercase: true, to: &buffer)
    }

    func writeString(_ text: String) {
        JSONStringEscaping.write(text, to: &buffer)
    }

    private func invalid(_ value: Any, _ message: String) -> EncodingError {
        EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: message))
    }

    // MARK: Containers

    /// Marks the current value as written (a single value or a new container).
    func fillSlot() throws {
        guard !slotFilled else {
            throw EncodingError.invalidValue((), .init(codingPath: [], debugDescription: "a value was encoded twice"))
        }
        slotFilled = true
    }

    /// Opens a container for the current value, or returns the one it already opened.
    func openContainer(isObject: Bool) throws -> (index: Int, serial: Int) {
        if slotFilled, frames.count > slotBase, frames[slotBase].isObject == isObject {
            closeFrames(downTo: slotBase + 1)
            return (slotBase, frames[slotBase].serial)
        }
        try fillSlot()
        return push(isObject: isObject)
    }

    func push(isObject: Bool) -> (index: Int, serial: Int) {
        buffer.writeInteger(isObject ? UInt8(ascii: "{") : UInt8(ascii: "["))
        nextSerial += 1
        frames.append(Frame(isObject: isObject, count: 0, serial: nextSerial))
        return (frames.count - 1, nextSerial)
    }

    /// Closes every container above `height`, innermost first.
    func closeFrames(downTo height: Int) {
        while frames.count > height, let frame = frames.popLast() {
            buffer.writeInteger(frame.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        }
    }

    /// Prepares container `index` for its next member: closes what was opened inside it since,
    /// writes the separator and, for objects, the key.
    func beginMember(of index: Int, serial: Int, key: String?) throws {
        guard index >= 0, index < frames.count, frames[index].serial == serial else {
            throw EncodingError.invalidValue((), .init(
                codingPath: [], debugDescription: "a container was written to after a sibling value"))
        }
        closeFrames(downTo: index + 1)
        if frames[index].count > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
        frames[index].count += 1
        if let key {
            writeString(key)
            buffer.writeInteger(UInt8(ascii: ":"))
        }
    }

    /// Encodes one member value (after ``beginMember``); a composite opens its own slot.
    func encodeMember<T: Encodable>(_ value: T) throws {
        try encodeValue(value)
    }
}

/// The `Encoder` handed to conformances.
private struct ByteEncoder: Encoder {
    let state: EncodingState
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        do {
            let (index, serial) = try state.openContainer(isObject: true)
            return KeyedEncodingContainer(ObjectContainer<Key>(state: state, index: index, serial: serial))
        } catch {
            return KeyedEncodingContainer(ObjectContainer<Key>(state: state, index: -1, serial: -1))
        }
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        do {
            let (index, serial) = try state.openContainer(isObject: false)
            return ArrayContainer(state: state, index: index, serial: serial)
        } catch {
            return ArrayContainer(state: state, index: -1, serial: -1)
        }
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValue(state: state)
    }
}

private struct ObjectContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: EncodingState
    let index: Int
    let serial: Int
    var codingPath: [any CodingKey] { [] }

    func encodeNil(forKey key: Key) throws {
        try state.beginMember(of: index, serial: serial, key: key.stringValue)
        state.buffer.writeStaticString("null")
    }

    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try state.beginMember(of: index, serial: serial, key: key.stringValue)
        try state.encodeMember(value)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey> {
        do {
            try state.beginMember(of: index, serial: serial, key: key.stringValue)
            let (nested, nestedSerial) = state.push(isObject: true)
            return KeyedEncodingContainer(ObjectContainer<NestedKey>(state: state, index: nested, serial: nestedSerial))
        } catch {
            return KeyedEncodingContainer(ObjectContainer<NestedKey>(state: state, index: -1, serial: -1))
        }
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        do {
            try state.beginMember(of: index, serial: serial, key: key.stringValue)
            let (nested, nestedSerial) = state.push(isObject: false)
            return ArrayContainer(state: state, index: nested, serial: nestedSerial)
        } catch {
            return ArrayContainer(state: state, index: -1, serial: -1)
        }
    }

    func superEncoder() -> any Encoder { superEncoder(forKey: "super") }

    func superEncoder(forKey key: Key) -> any Encoder { superEncoder(forKey: key.stringValue) }

    private func superEncoder(forKey key: String) -> any Encoder {
        // The super value is written as this member; a conformance must finish it before
        // writing the next member, as with every nested container here.
        try? state.beginMember(of: index, serial: serial, key: key)
        state.slotBase = state.frames.count
        state.slotFilled = false
        return ByteEncoder(state: state)
    }
}

private struct ArrayContainer: UnkeyedEncodingContainer {
    let state: EncodingState
    let index: Int
    let serial: Int
    var codingPath: [any CodingKey] { [] }
    var count: Int { index >= 0 && index < state.frames.count ? state.frames[index].count : 0 }

    mutating func encodeNil() throws {
        try state.beginMember(of: index, serial: serial, key: nil)
        state.buffer.writeStaticString("null")
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try state.beginMember(of: index, serial: serial, key: nil)
        try state.encodeMember(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        do {
            try state.beginMember(of: index, serial: serial, key: nil)
            let (nested, nestedSerial) = state.push(isObject: true)
            return KeyedEncodingContainer(ObjectContainer<NestedKey>(state: state, index: nested, serial: nestedSerial))
        } catch {
            return KeyedEncodingContainer(ObjectContainer<NestedKey>(state: state, index: -1, serial: -1))
        }
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        do {
            try state.beginMember(of: index, serial: serial, key: nil)
            let (nested, nestedSerial) = state.push(isObject: false)
            return ArrayContainer(state: state, index: nested, serial: nestedSerial)
        } catch {
            return ArrayContainer(state: state, index: -1, serial: -1)
        }
    }

    mutating func superEncoder() -> any Encoder {
        try? state.beginMember(of: index, serial: serial, key: nil)
        state.slotBase = state.frames.count
        state.slotFilled = false
        return ByteEncoder(state: state)
    }
}

private struct SingleValue: SingleValueEncodingContainer {
    let state: EncodingState
    var codingPath: [any CodingKey] { [] }

    func encodeNil() throws {
        try state.fillSlot()
        state.buffer.writeStaticString("null")
    }

    func encode<T: Encodable>(_ value: T) throws {
        try state.fillSlot()
        // A nested composite opens its own slot; the filled flag belongs to this one.
        try state.encodeMember(value)
    }
}
