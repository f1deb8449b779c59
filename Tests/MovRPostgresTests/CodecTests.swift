import Foundation
@testable import MovRPostgres
import Testing

/// Pure tests of the text codecs (no server).
@Suite struct CodecTests {

    @Test func bindValuesAreHandedToLibpqAsTerminatedCopiesInOneBuffer() {
        let values: [String?] = ["", nil, "us-east1", "a value longer than fifteen bytes, é and 🛴", "42.35", nil]
        PostgresConnection.withCStrings(values, "movr_s12") { pointers, name in
            let pointers = UnsafeBufferPointer(start: pointers, count: values.count)
            for (pointer, value) in zip(pointers, values) {
                #expect(pointer.map { String(cString: $0) } == value)
            }
            #expect(name.map { String(cString: $0) } == "movr_s12")
        }
        PostgresConnection.withCStrings([], nil) { pointers, name in
            #expect(pointers == nil && name == nil)
        }
        PostgresConnection.withCStrings([nil], "") { pointers, name in
            #expect(pointers?[0] == nil)
            #expect(name.map { String(cString: $0) } == "")
        }
    }
    static func micros(_ date: Date?) -> Int64? {
        date.map { Int64(($0.timeIntervalSince1970 * 1_000_000).rounded()) }
    }

    @Test(arguments: [
        ("2026-11-27 16:30:02.123456+00", Int64(1_795_797_002_123_456)),
        ("2026-11-27 16:30:02.123456+00:00", 1_795_797_002_123_456),  // CockroachDB
        ("2026-11-27T16:30:02.123456Z", 1_795_797_002_123_456),        // RFC 3339
        ("2026-11-27 22:00:02.1234567+05:30", 1_795_797_002_123_456),  // extra digits truncated
        ("2026-11-27 08:30:02-08", 1_795_797_002_000_000),
        ("2000-02-29 00:00:00+00", 951_782_400_000_000),
        ("1969-12-31 23:59:59.5+00", -500_000),
    ])
    func parsesTimestamps(text: String, expectedMicros: Int64) {
        #expect(Self.micros(PostgresTimestamp.parse(text)) == expectedMicros)
    }

    @Test(arguments: ["", "2026-11-27", "2026-13-01 00:00:00+00", "2026-11-27 16:30:02+", "Infinity", "+infinity", "2026-11-27 16:30:02 BC", "2026-11-27 16:30:02."])
    func rejectsMalformedTimestamps(text: String) {
        #expect(PostgresTimestamp.parse(text) == nil)
    }

    @Test func formatsRFC3339WithMicroseconds() {
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 1_795_797_002.123456)) == "2026-11-27T16:30:02.123456Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500000Z")
        for seconds in stride(from: -3_000_000_000.0, to: 5_000_000_000.0, by: 123_456_789.000_001) {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Self.micros(PostgresTimestamp.parse(PostgresTimestamp.format(date))) == Self.micros(date))
        }
    }

    /// Regression: a time whose microseconds do not fit an `Int64` (as a forged page cursor once
    /// produced) trapped in `format`. Every `Date` now formats; out of range means infinity.
    @Test(arguments: [1e300, 9.3e12, -9.3e12, -1e300, .infinity, -.infinity, .nan])
    func timesOutsideTheRangeFormatAsInfinity(_ seconds: Double) {
        let text = PostgresTimestamp.format(Date(timeIntervalSince1970: seconds))
        #expect(text == (seconds > 0 ? "infinity" : "-infinity"))
        #expect(PostgresTimestamp.parse(text) != nil)
    }

    @Test func theRangeEndsFormatAsDigits() {
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000000Z")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 253_402_300_799)) == "9999-12-31T23:59:59.000000Z")
        #expect(PostgresTimestamp.parse("infinity") == .distantFuture)
        #expect(PostgresTimestamp.parse("-infinity") == .distantPast)
    }

    @Test func arrayLiteralsRoundTrip() {
        let values = ["a", "b c", "x,y", "q\"uote", "back\\slash", "NULL", "", "{}"]
        let text = PostgresArrayText.format(values)
        #expect(PostgresArrayText.parse(text)?.map { $0 ?? "<nil>" } == values)
        #expect(PostgresArrayText.parse("{}")?.isEmpty == true)
        #expect(PostgresArrayText.parse("{a,NULL,\"NULL\"}") == ["a", nil, "NULL"])
        #expect(PostgresArrayText.parse("[0:1]={x,y}") == ["x", "y"])
        #expect(PostgresArrayText.parse("{{1,2},{3,4}}") == nil)
        #expect(PostgresArrayText.parse("not an array") == nil)
    }

    @Test func onlyPlainDMLIsPrepared() {
        #expect(PostgresConnection.isPreparable("SELECT 1"))
        #expect(PostgresConnection.isPreparable("  with x AS (SELECT 1) SELECT * FROM x"))
        #expect(PostgresConnection.isPreparable("(SELECT 1) UNION (SELECT 2)"))
        #expect(!PostgresConnection.isPreparable("CREATE TABLE t (id int)"))
        #expect(!PostgresConnection.isPreparable("BEGIN"))
        #expect(!PostgresConnection.isPreparable("SET TIME ZONE 'UTC'"))
    }

    @Test func backoffIsBoundedAndGrows() {
        for attempt in 1...30 {
            let delay = TransactionBackoff.delay(afterAttempt: attempt)
            #expect(delay >= TransactionBackoff.baseNanoseconds / 2)
            #expect(delay <= TransactionBackoff.capNanoseconds)
        }
        #expect(TransactionBackoff.delay(afterAttempt: 10) >= TransactionBackoff.capNanoseconds / 2)
    }

    @Test func errorDescriptionIsRedacted() {
        let error = PostgresError(code: .server, sqlState: "23505", constraintName: "users_email_key",
                                  serverMessage: "duplicate key value", serverDetail: "Key (email)=(secret@example.com) already exists.")
        #expect(error.description == "PostgresError(code: server, sqlState: 23505, constraint: users_email_key)")
        #expect(!error.description.contains("secret"))
        #expect(error.debugDescription.contains("secret@example.com"))
        #expect(!error.isRetryableTransactionConflict)
        #expect(PostgresError(code: .server, sqlState: "40P01").isRetryableTransactionConflict)
    }
}
