import FoundationEssentials
import MovRCalendar

/// Text codec for `timestamptz` with microsecond precision, independent of locale and time zone.
/// The calendar arithmetic is `CivilCalendar`'s (shared with the API's RFC 3339); this is the format.
enum PostgresTimestamp {
    /// The times `format` spells as digits, 0001-01-01 through 9999-12-31 (the years RFC 3339
    /// and the API can spell), in microseconds since the Unix epoch.
    static let formattableMicros: ClosedRange<Int64> = -62_135_596_800_000_000...253_402_300_799_999_999

    /// RFC 3339 in UTC with six fractional digits, e.g. "2026-11-27T16:30:02.123456Z".
    ///
    /// Total: a time outside ``formattableMicros`` (or NaN) becomes PostgreSQL's `-infinity` or
    /// `infinity`, which sort before and after every real time, instead of an integer overflow.
    static func format(_ date: Date) -> String {
        guard let totalMicros = CivilCalendar.count(of: date, perSecond: 1_000_000),
              formattableMicros.contains(totalMicros) else {
            return date.timeIntervalSince1970 > 0 ? "infinity" : "-infinity"
        }
        let (civil, microOfDay) = CivilCalendar.split(totalMicros, perDay: CivilCalendar.microsecondsPerDay)
        let (secondOfDay, micros) = (microOfDay / 1_000_000, microOfDay % 1_000_000)
        return pad(civil.year, 4) + "-" + pad(civil.month, 2) + "-" + pad(civil.day, 2) + "T"
            + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
            + "." + pad(micros, 6) + "Z"
    }

    /// Parses the server's ISO output ("2026-11-27 16:30:02.123456+00", "+05:30", "-08",
    /// CockroachDB's "+00:00") and RFC 3339 ("T" separator, "Z"). A missing offset means UTC.
    /// `infinity` and `-infinity` read as `Date.distantFuture` and `Date.distantPast`.
    static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { parse(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// `parse` on the value's bytes where libpq keeps them (no copy, no allocation).
    static func parse(bytes: UnsafeRawBufferPointer) -> Date? {
        if PostgresValueText.equals(bytes, "infinity") { return .distantFuture }
        if PostgresValueText.equals(bytes, "-infinity") { return .distantPast }
        var scanner = Scanner(bytes)
        guard let year = scanner.integer(minDigits: 4, maxDigits: 6), scanner.expect(UInt8(ascii: "-")),
              let month = scanner.integer(minDigits: 2, maxDigits: 2), scanner.expect(UInt8(ascii: "-")),
              let day = scanner.integer(minDigits: 2, maxDigits: 2),
              scanner.expect(UInt8(ascii: " ")) || scanner.expect(UInt8(ascii: "T")),
              let hour = scanner.integer(minDigits: 2, maxDigits: 2), scanner.expect(UInt8(ascii: ":")),
              let minute = scanner.integer(minDigits: 2, maxDigits: 2), scanner.expect(UInt8(ascii: ":")),
              let second = scanner.integer(minDigits: 2, maxDigits: 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }

        var micros: Int64 = 0
        if scanner.expect(UInt8(ascii: ".")) {
            var digits = 0
            while let digit = scanner.digit() {
                if digits < 6 { micros = micros * 10 + Int64(digit) }
                digits += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }

        var offsetSeconds: Int64 = 0
        if scanner.expect(UInt8(ascii: "Z")) {
            offsetSeconds = 0
        } else if let sign = scanner.sign() {
            guard let offsetHours = scanner.integer(minDigits: 2, maxDigits: 2) else { return nil }
            var offsetMinutes: Int64 = 0, offsetSecs: Int64 = 0
            if scanner.expect(UInt8(ascii: ":")) {
                guard let m = scanner.integer(minDigits: 2, maxDigits: 2) else { return nil }
                offsetMinutes = m
                if scanner.expect(UInt8(ascii: ":")) {
                    guard let s = scanner.integer(minDigits: 2, maxDigits: 2) else { return nil }
                    offsetSecs = s
                }
            }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60 + offsetSecs)
        }
        guard scanner.isAtEnd else { return nil }

        // A day past its month's end (never from the server) counts on into the next month.
        guard let seconds = CivilCalendar.secondsSinceEpoch(year: year, month: month, day: day, hour: hour, minute: minute,
                                                            second: second, offsetSeconds: offsetSeconds)
        else { return nil }
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0
        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var isAtEnd: Bool { index == bytes.count }

        mutating func expect(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int64? {
            guard index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") else { return nil }
            defer { index += 1 }
            return Int64(bytes[index] - UInt8(ascii: "0"))
        }

        mutating func sign() -> Int64? {
            if expect(UInt8(ascii: "+")) { return 1 }
            if expect(UInt8(ascii: "-")) { return -1 }
            return nil
        }

        mutating func integer(minDigits: Int, maxDigits: Int) -> Int64? {
            var value: Int64 = 0, count = 0
            while count < maxDigits, let d = digit() { value = value * 10 + d; count += 1 }
            return count >= minDigits ? value : nil
        }
    }
}
