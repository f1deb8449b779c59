import FoundationEssentials
import MovRUUID

/// Readers of the binary send format of the types ``PostgresResultFormat/binary`` covers: the
/// value's bytes where libpq keeps them, checked against the column's type and length, no copy.
/// Each returns `nil` for a type it does not read or a length that type never has.
enum PostgresValueBinary {
    static func isTextLike(_ type: PostgresDataType) -> Bool {
        type == .text || type == .varchar || type == .bpchar || type == .name
    }

    /// int2, int4 or int8: big-endian two's complement of 2, 4 or 8 bytes.
    static func integer(_ bytes: UnsafeRawBufferPointer, type: PostgresDataType) -> Int64? {
        switch (type, bytes.count) {
        case (.int2, 2): Int64(Int16(bigEndian: bytes.loadUnaligned(as: Int16.self)))
        case (.int4, 4): Int64(Int32(bigEndian: bytes.loadUnaligned(as: Int32.self)))
        case (.int8, 8): Int64(bigEndian: bytes.loadUnaligned(as: Int64.self))
        default: nil
        }
    }

    static func bool(_ bytes: UnsafeRawBufferPointer, type: PostgresDataType) -> Bool? {
        guard type == .bool, bytes.count == 1, bytes[0] <= 1 else { return nil }
        return bytes[0] == 1
    }

    /// float8 (or float4): the IEEE 754 bits, big-endian.
    static func double(_ bytes: UnsafeRawBufferPointer, type: PostgresDataType) -> Double? {
        switch (type, bytes.count) {
        case (.float8, 8): Double(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)))
        case (.float4, 4): Double(Float(bitPattern: UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self))))
        default: nil
        }
    }

    static func uuid(_ bytes: UnsafeRawBufferPointer, type: PostgresDataType) -> UUID? {
        guard type == .uuid, bytes.count == 16 else { return nil }
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: bytes) }
        return UUID(uuid: value)
    }

    /// Seconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01 (both UTC).
    static let postgresEpochSeconds: Int64 = 946_684_800

    /// timestamptz or timestamp: microseconds since 2000-01-01 UTC; `Int64.max`/`min` are
    /// `infinity`/`-infinity`, read as `Date.distantFuture`/`distantPast` like their text. The
    /// `Date` is built exactly as the text parser builds it (whole seconds plus microseconds),
    /// so both formats give the same value.
    static func timestamp(_ bytes: UnsafeRawBufferPointer, type: PostgresDataType) -> Date? {
        guard type == .timestamptz || type == .timestamp, bytes.count == 8 else { return nil }
        let micros = Int64(bigEndian: bytes.loadUnaligned(as: Int64.self))
        if micros == .max { return .distantFuture }
        if micros == .min { return .distantPast }
        let (seconds, fraction) = micros.quotientAndRemainder(dividingBy: 1_000_000)
        let wholeSeconds = fraction < 0 ? seconds - 1 : seconds
        let positiveFraction = fraction < 0 ? fraction + 1_000_000 : fraction
        return Date(timeIntervalSince1970: Double(wholeSeconds + postgresEpochSeconds) + Double(positiveFraction) / 1_000_000)
    }

    /// Text made from the value, for `row[column]` on a binary result (see there).
    static func text(_ bytes: UnsafeRawBufferPointer, type: PostgresDataType) -> String? {
        if isTextLike(type) { return String(decoding: bytes, as: UTF8.self) }
        if let value = integer(bytes, type: type) { return String(value) }
        if let value = bool(bytes, type: type) { return value ? "t" : "f" }
        if let value = double(bytes, type: type) { return value.postgresText }
        if let value = uuid(bytes, type: type) { return UUIDText.lowercase(value) }
        if let value = timestamp(bytes, type: type) { return PostgresTimestamp.format(value) }
        return nil
    }
}
