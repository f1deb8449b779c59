import FoundationEssentials
import MovRCalendar
import MovRRPC

/// RFC 3339 times as the API writes them: UTC, millisecond precision, `Z` suffix
/// (`2026-11-27T16:30:02.123Z`).
///
/// Hand-written rather than `DateFormatter`/`ISO8601DateFormatter`: those are costly to create,
/// locale-sensitive and not `Sendable`, and this runs for every time in every reply. The calendar
/// arithmetic is `CivilCalendar`'s (shared with PostgreSQL's timestamps); this is the format.
public enum RFC3339 {
    /// Years outside 0000...9999 cannot be written in RFC 3339; dates beyond are clamped.
    private static let firstMillisecond: Int64 = -62_167_219_200_000 // 0000-01-01T00:00:00Z
    private static let lastMillisecond: Int64 = 253_402_300_799_999  // 9999-12-31T23:59:59.999Z

    /// `date` in milliseconds since the epoch, rounded and clamped to what RFC 3339 can spell.
    private static func clampedMilliseconds(_ date: Date) -> Int64 {
        guard let milliseconds = CivilCalendar.count(of: date, perSecond: 1000) else {
            // NaN, infinities and counts beyond Int64: the nearer end (NaN: the last).
            return date.timeIntervalSince1970 < 0 ? firstMillisecond : lastMillisecond
        }
        return min(max(milliseconds, firstMillisecond), lastMillisecond)
    }

    /// Writes `date` as a quoted JSON string, exactly as ``string(from:)`` spells it, without
    /// building the string (this runs for every time in every listing).
    public static func write(_ date: Date, into writer: inout JSONByteWriter) {
        let (civil, millisecondOfDay) = CivilCalendar.split(clampedMilliseconds(date), perDay: CivilCalendar.millisecondsPerDay)
        let secondOfDay = millisecondOfDay / 1000
        writer.writeBounded(maxBytes: 26) { out in
            func put(_ value: Int64, _ width: Int, at position: Int) {
                var rest = value
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    out[position + offset] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                    rest /= 10
                }
            }
            out[0] = UInt8(ascii: "\"")
            put(civil.year, 4, at: 1)
            out[5] = UInt8(ascii: "-")
            put(civil.month, 2, at: 6)
            out[8] = UInt8(ascii: "-")
            put(civil.day, 2, at: 9)
            out[11] = UInt8(ascii: "T")
            put(secondOfDay / 3600, 2, at: 12)
            out[14] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, 2, at: 15)
            out[17] = UInt8(ascii: ":")
            put(secondOfDay % 60, 2, at: 18)
            out[20] = UInt8(ascii: ".")
            put(millisecondOfDay % 1000, 3, at: 21)
            out[24] = UInt8(ascii: "Z")
            out[25] = UInt8(ascii: "\"")
            return 26
        }
    }

    /// Formats `date` in UTC with milliseconds, rounding to the nearest millisecond.
    public static func string(from date: Date) -> String {
        let (civil, millisecondOfDay) = CivilCalendar.split(clampedMilliseconds(date), perDay: CivilCalendar.millisecondsPerDay)
        let secondOfDay = millisecondOfDay / 1000
        var text = ""
        text.reserveCapacity(24)
        text += pad(civil.year, 4) + "-" + pad(civil.month, 2) + "-" + pad(civil.day, 2)
        text += "T" + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
        text += "." + pad(millisecondOfDay % 1000, 3) + "Z"
        return text
    }

    /// Parses an RFC 3339 date-time: fractional seconds optional (any number of digits), offset
    /// `Z` or `±HH:MM`. Returns nil for anything else, including impossible dates and leap seconds.
    public static func date(from string: String) -> Date? {
        var text = string
        return text.withUTF8 { date(fromUTF8: $0) }
    }

    private static func date(fromUTF8 bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        var scanner = Scanner(bytes: bytes)
        guard let year = scanner.digits(4), scanner.take("-"),
              let month = scanner.digits(2), scanner.take("-"),
              let day = scanner.digits(2), scanner.take("T") || scanner.take("t"),
              let hour = scanner.digits(2), scanner.take(":"),
              let minute = scanner.digits(2), scanner.take(":"),
              let second = scanner.digits(2)
        else { return nil }
        guard CivilCalendar.isValid(year: Int64(year), month: Int64(month), day: Int64(day)),
              (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second)
        else { return nil }

        var fraction = 0.0
        if scanner.take(".") {
            var scale = 0.1
            var count = 0
            while let digit = scanner.digit() {
                fraction += Double(digit) * scale
                scale /= 10
                count += 1
            }
            guard count > 0 else { return nil }
        }

        var offsetSeconds = 0
        if scanner.take("Z") || scanner.take("z") {
            offsetSeconds = 0
        } else {
            let sign: Int
            if scanner.take("+") { sign = 1 } else if scanner.take("-") { sign = -1 } else { return nil }
            guard let offsetHour = scanner.digits(2), scanner.take(":"), let offsetMinute = scanner.digits(2),
                  (0...23).contains(offsetHour), (0...59).contains(offsetMinute)
            else { return nil }
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
        }
        guard scanner.isAtEnd else { return nil }

        guard let seconds = CivilCalendar.secondsSinceEpoch(
            year: Int64(year), month: Int64(month), day: Int64(day), hour: Int64(hour), minute: Int64(minute),
            second: Int64(second), offsetSeconds: Int64(offsetSeconds))
        else { return nil }
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Reads the string's own UTF-8 storage (no copy per parsed time).
    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        var isAtEnd: Bool { index == bytes.count }

        mutating func take(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int? {
            guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
                return nil
            }
            defer { index += 1 }
            return Int(bytes[index] - UInt8(ascii: "0"))
        }

        mutating func digits(_ count: Int) -> Int? {
            var value = 0
            for _ in 0..<count {
                guard let digit = digit() else { return nil }
                value = value * 10 + digit
            }
            return value
        }
    }
}
