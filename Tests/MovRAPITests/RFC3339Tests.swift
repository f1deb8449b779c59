import Foundation
import Testing

@testable import MovRAPI

@Suite("RFC 3339 times")
struct RFC3339Tests {
    @Test func formatsUTCWithMilliseconds() {
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 1_795_797_002.123)) == "2026-11-27T16:30:02.123Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
    }

    @Test func roundsToNearestMillisecondAcrossSecondBoundary() {
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 59.9996)) == "1970-01-01T00:01:00.000Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 1.0004)) == "1970-01-01T00:00:01.000Z")
    }

    @Test func clampsDatesOutsideFourDigitYears() {
        #expect(RFC3339.string(from: .distantFuture).hasPrefix("4001-01-01T"))
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 1e15)) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: -1e15)) == "0000-01-01T00:00:00.000Z")
    }

    @Test(arguments: [
        "2026-11-27T16:30:02.123Z", "2026-11-27T16:30:02Z", "2026-11-27T16:30:02.123+00:00",
        "2026-11-27T16:30:02.123000Z", "2026-11-27t16:30:02.123z", "2026-11-27T18:30:02.123+02:00",
        "2026-11-27T11:30:02.123-05:00",
    ])
    func parsesEquivalentSpellings(_ text: String) throws {
        let date = try #require(RFC3339.date(from: text))
        let formatted = RFC3339.string(from: date)
        let expected = text.contains("02Z") ? "2026-11-27T16:30:02.000Z" : "2026-11-27T16:30:02.123Z"
        #expect(formatted == expected)
    }

    @Test(arguments: [
        "", "2026-11-27", "2026-11-27T16:30:02", "2026-11-27 16:30:02Z", "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T16:60:00Z",
        "2026-11-27T16:30:60Z", "2026-11-27T16:30:02.Z", "2026-11-27T16:30:02.123", "2026-11-27T16:30:02+0000",
        "2026-11-27T16:30:02+24:00", "26-11-27T16:30:02Z", "2026-11-27T16:30:02Zjunk", "2026-1-27T16:30:02Z",
        "２026-11-27T16:30:02Z",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(RFC3339.date(from: text) == nil)
    }

    @Test func acceptsLeapDayOfLeapYears() {
        #expect(RFC3339.date(from: "2024-02-29T00:00:00Z") != nil)
        #expect(RFC3339.date(from: "2000-02-29T00:00:00Z") != nil)
        #expect(RFC3339.date(from: "1900-02-29T00:00:00Z") == nil)
    }

    @Test func roundTripsEveryMillisecondSampled() throws {
        // A spread of instants across centuries, each a whole millisecond.
        var milliseconds: Int64 = -2_208_988_800_000 // 1900-01-01
        while milliseconds < 4_102_444_800_000 {     // 2100-01-01
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let text = RFC3339.string(from: date)
            let parsed = try #require(RFC3339.date(from: text))
            #expect(RFC3339.string(from: parsed) == text)
            #expect(abs(parsed.timeIntervalSince(date)) < 0.0005)
            milliseconds += 86_400_000 * 37 + 3_599_999 + 123
        }
    }

    @Test func agreesWithFoundationCalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var seconds: Double = -1_000_000_000
        while seconds < 4_000_000_000 {
            let date = Date(timeIntervalSince1970: seconds)
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.000Z",
                                  c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
            #expect(RFC3339.string(from: date) == expected)
            seconds += 7_777_777
        }
    }

    @Test func datesDecodeWithPathOnBadInput() throws {
        let failure = decodingFailure(User.self, """
            {"id": "6f1c2a0b-3d4e-4f50-8a6b-7c8d9e0f1a2b", "username": "a", "email": "e", "first_name": "f",
             "last_name": "l", "city": "c", "region": "r", "created_at": "yesterday"}
            """)
        #expect(failure == APIValidationError(field: "created_at", message: "expected an RFC 3339 time"))
    }
}
