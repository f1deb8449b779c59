import Foundation
@testable import MovRPostgres
import Testing

/// Pure tests of the byte parsers behind `PostgresDecodable` (no server). Where Swift or
/// Foundation has a String-based parser that the old decoders used, it serves as the oracle.
@Suite struct ValueTextTests {
    static func decode<T: PostgresDecodable>(_ text: String?, as type: T.Type = T.self) -> T? {
        try? T.decode(postgresText: text)
    }

    /// Parses `text` from a buffer that continues with `tail`, so a parser that reads past the
    /// value's length (or relies on a terminating NUL) is caught.
    static func parseSlice<T>(_ text: String, tail: String = "9", _ parser: (UnsafeRawBufferPointer) -> T?) -> T? {
        let bytes = Array((text + tail).utf8)
        return bytes.withUnsafeBytes { parser(UnsafeRawBufferPointer(rebasing: $0[..<text.utf8.count])) }
    }

    // MARK: Integers

    static let integerTexts = [
        "0", "-0", "+0", "7", "+7", "-7", "007", "-007", "42", "2147483647", "2147483648", "-2147483648", "-2147483649",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "99999999999999999999", "", "-", "+", "--1", "+-1", " 1", "1 ", "1.0", "1e3", "0x10", "12a", "1_000", "١",
        "１", "\u{0}1",
    ]

    @Test(arguments: integerTexts)
    func integersParseLikeSwift(_ text: String) {
        #expect(Self.decode(text, as: Int.self) == Int(text))
        #expect(Self.decode(text, as: Int64.self) == Int64(text))
        #expect(Self.decode(text, as: Int32.self) == Int32(text))
    }

    @Test func integerEdgesAndOverflow() {
        #expect(Self.decode("-9223372036854775808", as: Int.self) == Int.min)
        #expect(Self.decode("9223372036854775807", as: Int64.self) == Int64.max)
        #expect(Self.decode("9223372036854775808", as: Int.self) == nil)
        #expect(Self.decode("-2147483648", as: Int32.self) == Int32.min)
        #expect(Self.decode("2147483648", as: Int32.self) == nil)
        #expect(Self.decode("100000000000000000000000000000", as: Int.self) == nil)
        #expect(Self.parseSlice("12") { PostgresValueText.integer($0, as: Int.self) } == 12)
    }

    @Test func nullAndInvalidIntegersFailWithTheirReason() throws {
        let null = try #require(throws: PostgresDecodingFailure.self) { try Int.decode(postgresBytes: nil) }
        #expect(null.wasNull)
        let invalid = try #require(throws: PostgresDecodingFailure.self) { try Int.decode(postgresText: "x") }
        #expect(!invalid.wasNull)
        #expect(invalid.description == "invalid text for Int")
        #expect(try Int?.decode(postgresBytes: nil) == nil)
        #expect(throws: PostgresDecodingFailure.self) { try Int?.decode(postgresText: "") }
    }

    // MARK: Bool

    @Test func boolsAcceptTheServerAndLegacySpellings() {
        for text in ["t", "true", "TRUE", "1"] { #expect(Self.decode(text, as: Bool.self) == true) }
        for text in ["f", "false", "FALSE", "0"] { #expect(Self.decode(text, as: Bool.self) == false) }
        for text in ["", "T", "F", "yes", "tru", "true ", "truex", "2", "on"] { #expect(Self.decode(text, as: Bool.self) == nil) }
        #expect(Self.parseSlice("t", tail: "rue") { PostgresValueText.bool($0) } == true)
    }

    // MARK: Double

    @Test(arguments: [
        "0", "-0", "3.141592653589793", "-1.5e+300", "1.7976931348623157e+308", "4.9e-324", "5e-324", "2.2250738585072014e-308",
        "Infinity", "-Infinity", "NaN", "1e400", "-1e400", "1e-400", "40.71283772193623", "-73.98765432101234",
        "0.1", "100", "1.", ".5", "+2.5", "1E5", "", " 1", "1 ", "1,5", "abc", "1e", "--1", "1.5.5", "0x1p3", "inf", "\u{0}",
    ])
    func doublesParseLikeSwift(_ text: String) {
        let expected = Double(text)
        let decoded = Self.decode(text, as: Double.self)
        #expect(decoded?.bitPattern == expected?.bitPattern || (decoded?.isNaN == true && expected?.isNaN == true))
    }

    @Test func doublesRoundTripTheirShortestText() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let value = Double(bitPattern: generator.next())
            guard value.isFinite else { continue }
            #expect(Self.decode(value.description, as: Double.self)?.bitPattern == value.bitPattern)
        }
        // The value stops where its length says, whatever follows in memory.
        #expect(Self.parseSlice("1.5", tail: "9e9") { PostgresValueText.double($0) } == 1.5)
        #expect(Self.parseSlice("1.5", tail: "") { PostgresValueText.double($0) } == 1.5)
    }

    // MARK: UUID

    @Test func uuidsParseInEitherCase() {
        let uuid = UUID(uuidString: "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")!
        #expect(Self.decode("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", as: UUID.self) == uuid)
        #expect(Self.decode("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", as: UUID.self) == uuid)
        #expect(Self.decode("a0EEbc99-9C0b-4ef8-BB6d-6bb9bd380A11", as: UUID.self) == uuid)
        #expect(Self.decode("00000000-0000-0000-0000-000000000000", as: UUID.self) == UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
        #expect(Self.decode("ffffffff-ffff-ffff-ffff-ffffffffffff", as: UUID.self)?.uuidString == "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF")
    }

    @Test(arguments: [
        "", "x", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", "a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g", "a0eebc99_9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1 ",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380ä1",
    ])
    func malformedUUIDsAreInvalid(_ text: String) {
        #expect(Self.decode(text, as: UUID.self) == nil)
        // The old decoder (Foundation) agrees, except that it skipped a space before a hex pair.
        if !text.contains(" ") { #expect(UUID(uuidString: text) == nil) }
    }

    @Test func uuidsBindAsLowercaseText() {
        for _ in 0..<500 {
            let uuid = UUID()
            #expect(uuid.postgresText == uuid.uuidString.lowercased())
            #expect(Self.decode(uuid.postgresText, as: UUID.self) == uuid)
        }
        #expect(PostgresUUIDArray([UUID(uuid: (0xAB, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xCD))]).postgresText
                == "{\"ab000000-0000-0000-0000-0000000000cd\"}")
    }

    // MARK: Decimal

    @Test(arguments: [
        "0", "-0", "0.000", "1.50", "-0.000001", "12345678901234.56", "-12345678901234.56", "99999999999999999999.999999",
        "123456789012345678901234567890123456789", "1234567890123456789012345678901234567890123",
        "0.1234567890123456789012345678901234567890123", "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456", "3402823669209384634633746074317682114561", "18446744073709551616",
        "18446744073709551615.5", "1e5", "1E-5", "+5", ".5", "5.", "1e127", "1e-128", "100", "1.0e3", "1e+5", "0.000000000000000000000000000000000000000000001",
        "10000000000000000000000000000000000000000000000",
    ])
    func decimalsParseLikeFoundation(_ text: String) throws {
        let expected = try #require(Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")))
        let decoded = try #require(Self.decode(text, as: Decimal.self))
        #expect(decoded == expected)
        #expect(decoded.description == expected.description)
    }

    @Test(arguments: ["", "-", "+", ".", "-.", "1..2", "12abc", "1e", "1e+", "e5", "-.e5", "--1", "1e128", "1e-129", "1e99999999999",
                      "NaN", "Infinity", "-Infinity", " 1", "1 ", "1,5", "0x10"])
    func malformedDecimalsAreInvalid(_ text: String) {
        #expect(Self.decode(text, as: Decimal.self) == nil)
    }

    @Test func randomDecimalsParseLikeFoundation() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            let length = Int.random(in: 1...45, using: &generator)
            var digits = String((0..<length).map { _ in "0123456789".randomElement(using: &generator)! })
            if Bool.random(using: &generator) {
                digits.insert(".", at: digits.index(digits.startIndex, offsetBy: Int.random(in: 0...length, using: &generator)))
            }
            let text = (Bool.random(using: &generator) ? "-" : "") + digits
            let expected = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
            let decoded = Self.decode(text, as: Decimal.self)
            #expect(decoded == expected, "\(text)")
            #expect(decoded?.description == expected?.description, "\(text)")
        }
    }

    // MARK: Timestamps (bytes)

    @Test func timestampsParseFromBytesWithoutReadingPastTheValue() {
        let date = Self.parseSlice("2026-11-27 16:30:02.123456+05:30", tail: ":00") { PostgresTimestamp.parse(bytes: $0) }
        let expected: Int64 = 1_795_797_002_123_456 - 19_800_000_000  // 16:30 at +05:30 is 11:00 UTC
        #expect(CodecTests.micros(date) == expected)
        #expect(Self.parseSlice("2026-11-27 16:30:02", tail: ".5") { PostgresTimestamp.parse(bytes: $0) } == Date(timeIntervalSince1970: 1_795_797_002))
        #expect(Self.parseSlice("infinity", tail: "x") { PostgresTimestamp.parse(bytes: $0) } == .distantFuture)
        #expect(Self.decode("-infinity", as: Date.self) == .distantPast)
        #expect(Self.decode("2026-11-27 16:30:02-08:00:30", as: Date.self) == Date(timeIntervalSince1970: 1_795_797_002 + 8 * 3600 + 30))
        #expect(Self.decode("infinityx", as: Date.self) == nil)
        #expect(Self.decode("Infinity", as: Date.self) == nil)
        #expect(Self.decode(nil, as: Date.self) == nil)
    }

    // MARK: Arrays

    @Test func arraysDecodeTheirElementsFromBytes() throws {
        #expect(Self.decode("{1,2,-3}", as: [Int].self) == [1, 2, -3])
        #expect(Self.decode("{}", as: [Int].self) == [])
        #expect(Self.decode("{1,NULL}", as: [Int].self) == nil)  // NULL element for a non-optional
        #expect(Self.decode("{1,NULL,\"3\"}", as: [Int?].self) == [1, nil, 3])
        #expect(Self.decode("{1,x}", as: [Int].self) == nil)
        #expect(Self.decode("{\"a\\\\b\",\"c\\\"d\",NULL,\"NULL\"}", as: [String?].self) == ["a\\b", "c\"d", nil, "NULL"])
        #expect(Self.decode("[2:3]={t,f}", as: [Bool].self) == [true, false])
        #expect(Self.decode("{1.5,-Infinity,NaN}", as: [Double].self)?.map(\.description) == ["1.5", "-inf", "nan"])
        let uuid = UUID()
        #expect(Self.decode("{\(uuid.uuidString),\(uuid.uuidString.lowercased())}", as: PostgresUUIDArray.self)?.uuids == [uuid, uuid])
        #expect(Self.decode("{\"2026-11-27 16:30:02+00\"}", as: [Date].self) == [Date(timeIntervalSince1970: 1_795_797_002)])
        #expect(Self.decode("{Grüße,\"東京 🚲\"}", as: [String].self) == ["Grüße", "東京 🚲"])
        for malformed in ["", "{", "}", "{1,2", "1,2}", "{{1},{2}}", "{\"a}", "{a\\}", "[1:2]{1}"] {
            #expect(Self.decode(malformed, as: [String?].self) == nil, "\(malformed)")
        }
        #expect(Self.decode(nil, as: [String]?.self) == .some(nil))
        #expect(throws: PostgresDecodingFailure.self) { try [String].decode(postgresBytes: nil) }
    }

    @Test func jsonAndTextCopyTheirBytes() throws {
        #expect(Self.decode("", as: String.self) == "")
        #expect(Self.decode("Grüße 東京", as: String.self) == "Grüße 東京")
        #expect(Self.decode(nil, as: String.self) == nil)
        let invalidUTF8: [UInt8] = [0x61, 0xFF, 0x62]
        #expect(invalidUTF8.withUnsafeBytes { try? String.decode(postgresBytes: $0) } == "a\u{FFFD}b")
        #expect(Self.decode("{\"a\": 1}", as: PostgresJSON.self)?.rawValue == "{\"a\": 1}")
    }
}
