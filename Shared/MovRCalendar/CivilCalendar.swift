import FoundationEssentials

/// A day of the proleptic Gregorian calendar (month 1...12, day 1...31).
public struct CivilDate: Sendable, Hashable, CustomStringConvertible {
    public var year: Int64
    public var month: Int64
    public var day: Int64

    public init(year: Int64, month: Int64, day: Int64) {
        self.year = year
        self.month = month
        self.day = day
    }

    public var description: String { "\(year)-\(month)-\(day)" }
}

/// The calendar arithmetic under every time format MovR reads and writes (RFC 3339 in the API,
/// PostgreSQL's timestamps): civil dates <-> days since 1970-01-01 (H. Hinnant's algorithms),
/// leap years, and counts of seconds, milliseconds or microseconds since the epoch. The formats
/// do their own parsing and printing on top.
///
/// Total on input: anything that could come from a client or a server (a date field, a day
/// count, a `Date`) is range-checked with checked or bounded arithmetic and answered with nil,
/// never with an overflow trap.
public enum CivilCalendar {
    public static let secondsPerDay: Int64 = 86_400
    public static let millisecondsPerDay: Int64 = 86_400_000
    public static let microsecondsPerDay: Int64 = 86_400_000_000

    /// The years the arithmetic accepts. Wider than any format spells (RFC 3339: 0000...9999;
    /// PostgreSQL: up to six digits) and than any `Int64` count of seconds or finer reaches
    /// (about 2.9e11 years), narrow enough that no step can overflow.
    public static let years: ClosedRange<Int64> = -300_000_000_000...300_000_000_000

    /// The day counts of ``years``.
    public static let days: ClosedRange<Int64> =
        uncheckedDaysSinceEpoch(year: years.lowerBound, month: 1, day: 1)
            ... uncheckedDaysSinceEpoch(year: years.upperBound, month: 12, day: 31)

    public static func isLeapYear(_ year: Int64) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    /// 28...31; nil for a month outside 1...12.
    public static func daysInMonth(year: Int64, month: Int64) -> Int64? {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        case 1, 3, 5, 7, 8, 10, 12: 31
        default: nil
        }
    }

    /// Whether the date exists: a year of ``years``, a month 1...12 and a day of that month.
    public static func isValid(year: Int64, month: Int64, day: Int64) -> Bool {
        guard years.contains(year), let last = daysInMonth(year: year, month: month) else { return false }
        return (1...last).contains(day)
    }

    /// Days since 1970-01-01 (negative before). Nil for a year outside ``years``, a month
    /// outside 1...12 or a day outside 1...31; a day past the end of its month counts on into
    /// the next (February 30 is March 2 or 1), so callers that must refuse it check ``isValid``.
    public static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64? {
        guard years.contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        return uncheckedDaysSinceEpoch(year: year, month: month, day: day)
    }

    /// The date `days` after 1970-01-01; nil outside ``days``.
    public static func date(daysSinceEpoch days: Int64) -> CivilDate? {
        guard Self.days.contains(days) else { return nil }
        return uncheckedDate(daysSinceEpoch: days)
    }

    /// `count` units since the epoch, `perDay` units a day (at least ``secondsPerDay``: seconds,
    /// milliseconds, microseconds), as the date and the units into that day (0..<perDay).
    /// Total: every `Int64` count falls within ``days``.
    public static func split(_ count: Int64, perDay: Int64) -> (date: CivilDate, ofDay: Int64) {
        precondition(perDay >= secondsPerDay, "a unit no coarser than a second")
        let (days, ofDay) = floorDivide(count, by: perDay)
        return (uncheckedDate(daysSinceEpoch: days), ofDay)
    }

    /// Seconds since the epoch of a wall-clock time at a UTC offset (`offsetSeconds` east of
    /// UTC). The date fields as in ``daysSinceEpoch(year:month:day:)``; the time fields are the
    /// caller's to validate (a format may admit a leap second). Nil when any step overflows.
    public static func secondsSinceEpoch(year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64,
                                         second: Int64, offsetSeconds: Int64 = 0) -> Int64? {
        guard let days = daysSinceEpoch(year: year, month: month, day: day) else { return nil }
        // Unrolled, without an array: this runs for every timestamp of every row read.
        let (daySeconds, o1) = days.multipliedReportingOverflow(by: secondsPerDay)
        let (hourSeconds, o2) = hour.multipliedReportingOverflow(by: 3600)
        let (minuteSeconds, o3) = minute.multipliedReportingOverflow(by: 60)
        let (a, o4) = daySeconds.addingReportingOverflow(hourSeconds)
        let (b, o5) = a.addingReportingOverflow(minuteSeconds)
        let (c, o6) = b.addingReportingOverflow(second)
        let (result, o7) = c.subtractingReportingOverflow(offsetSeconds)
        return o1 || o2 || o3 || o4 || o5 || o6 || o7 ? nil : result
    }

    /// `date` as a whole number of `perSecond` units since the epoch (1000: milliseconds,
    /// 1_000_000: microseconds), rounded to the nearest; nil for NaN, infinities and counts
    /// beyond `Int64`.
    public static func count(of date: Date, perSecond: Int64) -> Int64? {
        Int64(exactly: (date.timeIntervalSince1970 * Double(perSecond)).rounded())
    }

    /// Quotient rounded toward negative infinity and the remainder in 0..<divisor (divisor > 0).
    public static func floorDivide(_ value: Int64, by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }

    // Within `years` (and `days`) no intermediate value comes near Int64's range.
    private static func uncheckedDaysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func uncheckedDate(daysSinceEpoch days: Int64) -> CivilDate {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return CivilDate(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }
}
