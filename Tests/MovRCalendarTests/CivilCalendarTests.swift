import Foundation
import MovRCalendar
import Testing

@Suite("civil calendar")
struct CivilCalendarTests {
    @Test func leapYearsFollowTheGregorianRule() {
        for year: Int64 in [2024, 2000, 1600, 0, -4, -400, 400_000] { #expect(CivilCalendar.isLeapYear(year), "\(year)") }
        for year: Int64 in [2023, 1900, 2100, 1, -1, -100, 300] { #expect(!CivilCalendar.isLeapYear(year), "\(year)") }
        #expect(CivilCalendar.daysInMonth(year: 2024, month: 2) == 29)
        #expect(CivilCalendar.daysInMonth(year: 1900, month: 2) == 28)
        #expect(CivilCalendar.daysInMonth(year: 2000, month: 2) == 29)
        #expect(CivilCalendar.daysInMonth(year: 2023, month: 4) == 30)
        #expect(CivilCalendar.daysInMonth(year: 2023, month: 12) == 31)
        #expect(CivilCalendar.daysInMonth(year: 2023, month: 0) == nil)
        #expect(CivilCalendar.daysInMonth(year: 2023, month: 13) == nil)
    }

    @Test func validDatesAreTheCalendarsDays() {
        #expect(CivilCalendar.isValid(year: 2024, month: 2, day: 29))
        #expect(!CivilCalendar.isValid(year: 2023, month: 2, day: 29))
        #expect(!CivilCalendar.isValid(year: 1900, month: 2, day: 29))
        #expect(CivilCalendar.isValid(year: 2000, month: 2, day: 29))
        #expect(!CivilCalendar.isValid(year: 2023, month: 4, day: 31))
        #expect(!CivilCalendar.isValid(year: 2023, month: 1, day: 0))
        #expect(!CivilCalendar.isValid(year: .max, month: 1, day: 1))
        #expect(!CivilCalendar.isValid(year: .min, month: 1, day: 1))
    }

    @Test(arguments: [
        (1970, 1, 1, 0), (1969, 12, 31, -1), (2000, 3, 1, 11_017), (2024, 2, 29, 19_782),
        (1, 1, 1, -719_162), (0, 1, 1, -719_528), (0, 2, 29, -719_469), (9999, 12, 31, 2_932_896),
    ] as [(Int64, Int64, Int64, Int64)])
    func knownDays(year: Int64, month: Int64, day: Int64, days: Int64) {
        #expect(CivilCalendar.daysSinceEpoch(year: year, month: month, day: day) == days)
        #expect(CivilCalendar.date(daysSinceEpoch: days) == CivilDate(year: year, month: month, day: day))
    }

    /// Every day from 1599 through 2401 (four 400-year cycles' worth of leap rules, both sides of
    /// the epoch): the day after each date is the calendar's next day, and days map back.
    @Test func everyDayRoundTripsAndFollowsTheDayBefore() throws {
        let first = try #require(CivilCalendar.daysSinceEpoch(year: 1599, month: 1, day: 1))
        let last = try #require(CivilCalendar.daysSinceEpoch(year: 2401, month: 12, day: 31))
        var expected = CivilDate(year: 1599, month: 1, day: 1)
        var mismatches = 0
        for days in first...last {
            let date = try #require(CivilCalendar.date(daysSinceEpoch: days))
            if date != expected || CivilCalendar.daysSinceEpoch(year: date.year, month: date.month, day: date.day) != days {
                mismatches += 1
            }
            expected = Self.nextDay(after: expected)
        }
        #expect(mismatches == 0)
        #expect(expected == CivilDate(year: 2402, month: 1, day: 1))
    }

    @Test func theBoundsOfTheRangeRoundTrip() throws {
        let years = CivilCalendar.years, days = CivilCalendar.days
        #expect(CivilCalendar.daysSinceEpoch(year: years.lowerBound, month: 1, day: 1) == days.lowerBound)
        #expect(CivilCalendar.daysSinceEpoch(year: years.upperBound, month: 12, day: 31) == days.upperBound)
        #expect(CivilCalendar.date(daysSinceEpoch: days.lowerBound) == CivilDate(year: years.lowerBound, month: 1, day: 1))
        #expect(CivilCalendar.date(daysSinceEpoch: days.upperBound) == CivilDate(year: years.upperBound, month: 12, day: 31))
        for days in [days.lowerBound, days.lowerBound + 59, -1, 0, days.upperBound - 306, days.upperBound] {
            let date = try #require(CivilCalendar.date(daysSinceEpoch: days))
            #expect(CivilCalendar.isValid(year: date.year, month: date.month, day: date.day))
            #expect(CivilCalendar.daysSinceEpoch(year: date.year, month: date.month, day: date.day) == days)
        }
    }

    @Test func outOfRangeInputIsRejectedNotTrapped() {
        let years = CivilCalendar.years, days = CivilCalendar.days
        for year in [years.upperBound + 1, years.lowerBound - 1, .max, .min] {
            #expect(CivilCalendar.daysSinceEpoch(year: year, month: 6, day: 15) == nil, "\(year)")
            #expect(CivilCalendar.secondsSinceEpoch(year: year, month: 6, day: 15, hour: 0, minute: 0, second: 0) == nil)
        }
        for (month, day) in [(0, 1), (13, 1), (-1, 1), (1, 0), (1, 32), (.max, 1), (1, .min)] as [(Int64, Int64)] {
            #expect(CivilCalendar.daysSinceEpoch(year: 2024, month: month, day: day) == nil, "\(month)-\(day)")
        }
        for count in [days.upperBound + 1, days.lowerBound - 1, .max, .min] {
            #expect(CivilCalendar.date(daysSinceEpoch: count) == nil, "\(count)")
        }
        // Time fields and offsets that overflow the sum.
        #expect(CivilCalendar.secondsSinceEpoch(year: 2024, month: 1, day: 1, hour: .max, minute: 0, second: 0) == nil)
        #expect(CivilCalendar.secondsSinceEpoch(year: 2024, month: 1, day: 1, hour: 0, minute: .min, second: 0) == nil)
        #expect(CivilCalendar.secondsSinceEpoch(year: 2024, month: 1, day: 1, hour: 0, minute: 0, second: .max) == nil)
        #expect(CivilCalendar.secondsSinceEpoch(year: 2024, month: 1, day: 1, hour: 0, minute: 0, second: 0,
                                                offsetSeconds: .min) == nil)
        #expect(CivilCalendar.secondsSinceEpoch(year: years.upperBound, month: 12, day: 31, hour: 23, minute: 59,
                                                second: 59) == nil)
    }

    @Test func secondsSinceEpochAppliesTheOffset() {
        #expect(CivilCalendar.secondsSinceEpoch(year: 2024, month: 2, day: 29, hour: 12, minute: 0, second: 0) == 1_709_208_000)
        // 17:30 at +05:30 is 12:00 UTC; 04:00 at -08:00 is 12:00 UTC.
        #expect(CivilCalendar.secondsSinceEpoch(year: 2024, month: 2, day: 29, hour: 17, minute: 30, second: 0,
                                                offsetSeconds: 19_800) == 1_709_208_000)
        #expect(CivilCalendar.secondsSinceEpoch(year: 2024, month: 2, day: 29, hour: 4, minute: 0, second: 0,
                                                offsetSeconds: -28_800) == 1_709_208_000)
        #expect(CivilCalendar.secondsSinceEpoch(year: 1969, month: 12, day: 31, hour: 23, minute: 59, second: 59) == -1)
        // A day past the month's end counts on, as the day arithmetic does: 2023-02-30 is 2023-03-02.
        #expect(CivilCalendar.daysSinceEpoch(year: 2023, month: 2, day: 30)
                == CivilCalendar.daysSinceEpoch(year: 2023, month: 3, day: 2))
    }

    /// Any Int64 count of seconds, milliseconds or microseconds splits into a date and a time of
    /// day, including the extremes.
    @Test(arguments: [CivilCalendar.secondsPerDay, CivilCalendar.millisecondsPerDay, CivilCalendar.microsecondsPerDay])
    func everyCountSplitsIntoADateAndTimeOfDay(perDay: Int64) throws {
        for count: Int64 in [.min, .min + 1, -perDay - 1, -perDay, -1, 0, 1, perDay - 1, perDay, .max - 1, .max] {
            let (date, ofDay) = CivilCalendar.split(count, perDay: perDay)
            #expect((0..<perDay).contains(ofDay))
            #expect(CivilCalendar.isValid(year: date.year, month: date.month, day: date.day))
            let days = try #require(CivilCalendar.daysSinceEpoch(year: date.year, month: date.month, day: date.day))
            #expect(days == CivilCalendar.floorDivide(count, by: perDay).quotient)
        }
        #expect(CivilCalendar.split(-1, perDay: perDay) == (CivilDate(year: 1969, month: 12, day: 31), perDay - 1))
        #expect(CivilCalendar.split(0, perDay: perDay) == (CivilDate(year: 1970, month: 1, day: 1), 0))
    }

    @Test func floorDivisionRoundsDown() {
        #expect(CivilCalendar.floorDivide(7, by: 3) == (2, 1))
        #expect(CivilCalendar.floorDivide(-7, by: 3) == (-3, 2))
        #expect(CivilCalendar.floorDivide(-6, by: 3) == (-2, 0))
        #expect(CivilCalendar.floorDivide(.min, by: 86_400).remainder >= 0)
    }

    @Test func datesBecomeWholeCountsOrNil() {
        #expect(CivilCalendar.count(of: Date(timeIntervalSince1970: 1.0006), perSecond: 1000) == 1001)
        #expect(CivilCalendar.count(of: Date(timeIntervalSince1970: -1.5e-6), perSecond: 1_000_000) == -2)
        #expect(CivilCalendar.count(of: Date(timeIntervalSince1970: 0), perSecond: 1_000_000) == 0)
        for seconds in [Double.nan, .infinity, -.infinity, 1e300, -1e300, 9.3e12] {
            #expect(CivilCalendar.count(of: Date(timeIntervalSince1970: seconds), perSecond: 1_000_000) == nil, "\(seconds)")
        }
        #expect(CivilCalendar.count(of: .distantFuture, perSecond: 1_000_000) != nil)
    }

    private static func nextDay(after date: CivilDate) -> CivilDate {
        if let last = CivilCalendar.daysInMonth(year: date.year, month: date.month), date.day < last {
            return CivilDate(year: date.year, month: date.month, day: date.day + 1)
        }
        return date.month < 12 ? CivilDate(year: date.year, month: date.month + 1, day: 1)
                               : CivilDate(year: date.year + 1, month: 1, day: 1)
    }
}
