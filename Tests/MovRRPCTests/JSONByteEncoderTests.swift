import Foundation
import NIOCore
import Testing

@testable import MovRRPC

/// The one-pass result encoder must write what `JSONEncoder` writes (as JSON values), for
/// every shape of `Codable` conformance, and refuse what would be malformed.
@Suite("JSON byte encoder")
struct JSONByteEncoderTests {
    struct Inner: Codable, Equatable { var latitude: Double; var longitude: Double }
    struct Sample: Codable, Equatable {
        var id: UUID
        var name: String
        var count: Int
        var small: Int8
        var big: UInt64
        var ratio: Double
        var float: Float
        var flag: Bool
        var missing: String?
        var present: String?
        var tags: [String]
        var nested: Inner
        var nestedList: [Inner]
        var matrix: [[Int]]
        var byName: [String: Int]
        var price: Decimal
        var when: Date
        var data: Data
        var empty: [Int]
    }

    /// Writes members by hand: explicit nulls, nested containers, an unkeyed container.
    struct Manual: Encodable {
        enum Keys: String, CodingKey { case a, b, c, d }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeNil(forKey: .a)
            var nested = container.nestedContainer(keyedBy: Keys.self, forKey: .b)
            try nested.encode("x", forKey: .a)
            var list = nested.nestedUnkeyedContainer(forKey: .b)
            try list.encode(1)
            try list.encodeNil()
            var inner = list.nestedContainer(keyedBy: Keys.self)
            try inner.encode(true, forKey: .c)
            try container.encode(2.5, forKey: .c)
            var again = encoder.container(keyedBy: Keys.self)  // asking twice gives the same object
            try again.encode("last", forKey: .d)
        }
    }

    struct Nothing: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    struct SingleWrapper: Codable, Equatable {
        var inner: Inner
        init(inner: Inner) { self.inner = inner }
        init(from decoder: any Decoder) throws { inner = try decoder.singleValueContainer().decode(Inner.self) }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(inner)
        }
    }

    /// Goes back to a container after writing a sibling: streaming cannot honour that.
    struct OutOfOrder: Encodable {
        enum Keys: String, CodingKey { case a, b }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var first = container.nestedContainer(keyedBy: Keys.self, forKey: .a)
            try container.encode(1, forKey: .b)
            try first.encode(2, forKey: .a)
        }
    }

    func sameAsJSONEncoder<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = try JSONValue.parse(JSONByteEncoder.encode(value))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let theirs = try JSONValue.parse(Array(try encoder.encode(value)))
        #expect(ours == theirs, sourceLocation: sourceLocation)
    }

    static let sample = Sample(
        id: UUID(uuidString: "0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9")!, name: "quote\" back\\slash /slash\n\u{1}é😀",
        count: -1234567890123, small: -128, big: .max, ratio: 40.712_345_678_9, float: 0.1, flag: true,
        missing: nil, present: "here", tags: ["a", "", "b c"], nested: Inner(latitude: -74, longitude: 1e-7),
        nestedList: [Inner(latitude: 1.5, longitude: -0.0), Inner(latitude: 90, longitude: 180)],
        matrix: [[1, 2], [], [3]], byName: ["z": 1, "a": 2], price: Decimal(string: "12.34")!,
        when: Date(timeIntervalSince1970: 1_795_797_002.123), data: Data([0, 1, 254, 255]), empty: [])

    @Test func synthesizedConformancesMatchJSONEncoder() throws {
        try sameAsJSONEncoder(Self.sample)
        try sameAsJSONEncoder([Self.sample, Self.sample])
        try sameAsJSONEncoder(["k": Self.sample])
        try sameAsJSONEncoder(SingleWrapper(inner: Inner(latitude: 1, longitude: 2)))
        try sameAsJSONEncoder(Optional<Int>.none)
        try sameAsJSONEncoder("top level string")
        try sameAsJSONEncoder(Int64.min)
        try sameAsJSONEncoder([Double](arrayLiteral: 0.1, 1e300, -2.5e-300, 3, 2e15))
    }

    @Test func handWrittenConformancesMatchJSONEncoder() throws {
        try sameAsJSONEncoder(Manual())
        #expect(try JSONValue.parse(JSONByteEncoder.encode(Manual()))
            == ["a": nil, "b": ["a": "x", "b": [1, nil, ["c": true]]], "c": .number("2.5"), "d": "last"])
    }

    @Test func integersAndStringsAreWrittenExactly() throws {
        #expect(String(decoding: try JSONByteEncoder.encode([Int.min, 0, Int.max]), as: UTF8.self)
            == "[-9223372036854775808,0,9223372036854775807]")
        #expect(String(decoding: try JSONByteEncoder.encode("a\"b\\c\u{0}\u{1F}\t/é"), as: UTF8.self)
            == #""a\"b\\c\u0000\u001f\t/é""#)
        #expect(String(decoding: try JSONByteEncoder.encode(UUID(uuidString: "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9")!),
                       as: UTF8.self) == #""0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9""#)
    }

    /// Doubles are written as bytes (no String), in the same shortest round-trip form as
    /// `description` and JSONEncoder, including the long ones that do not fit a small string.
    @Test func doublesAreWrittenAsTheirShortestRoundTripForm() throws {
        let values: [Double] = [40.70123456789123, -73.98765432101234, 0.1, 1.5, 1e-7, 123456.789, 1.7976931348623157e308,
                                5e-324, -0.000_123_456_789_012_345_6, 2.5e15 + 0.5, 0.3]
        for value in values {
            var buffer = ByteBuffer()
            try JSONNumberWriting.writeDouble(value, to: &buffer)
            let written = String(buffer: buffer)
            #expect(written == value.description, "\(value)")
            #expect(Double(written) == value)
            let viaEncoder = String(decoding: try JSONEncoder().encode([value]), as: UTF8.self).dropFirst().dropLast()
            #expect(Double(String(viaEncoder)) == value)
        }
    }

    @Test func aValueThatEncodesNothingIsAnEmptyObject() throws {
        #expect(try JSONByteEncoder.encode(Nothing()) == Array("{}".utf8))
        #expect(try JSONByteEncoder.encode([Nothing()]) == Array("[{}]".utf8))
    }

    /// Hand-written through ``JSONByteWriter``: strings that need escapes, long runs and many
    /// members, so a writer starting at its smallest size grows while escaping.
    struct Written: JSONByteWritable {
        var texts: [String]
        var numbers: [Double]
        var ids: [UUID]
        var nested: Inner?

        enum CodingKeys: String, CodingKey { case texts, numbers, ids, nested }

        func writeJSON(into writer: inout JSONByteWriter) throws {
            try writer.object { object in
                object.key("texts"); object.array(texts) { $0.string($1) }
                object.key("numbers"); try object.array(numbers) { try $0.double($1) }
                object.key("ids"); object.array(ids) { $0.lowercaseUUID($1) }
                object.key("nested"); try object.value(nested)
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(texts, forKey: .texts)
            try container.encode(numbers, forKey: .numbers)
            try container.encode(ids.map { $0.uuidString.lowercased() }, forKey: .ids)
            try container.encode(nested, forKey: .nested)
        }
    }

    @Test func theWriterGrowsWhileEscapingAndMatchesJSONEncoder() throws {
        let awkward = String(repeating: "plain text run ", count: 40) + "\"\\\n\r\t\u{8}\u{C}\u{0}\u{1F}é😀"
        let written = Written(
            texts: [awkward, String(repeating: "\"", count: 300), "", String(repeating: "\u{1}", count: 100)],
            numbers: [40.712_345_678_9, -2.2250738585072014e-308, -0.0, 3, 1e300],
            ids: (0..<20).map { _ in UUID() }, nested: Inner(latitude: 1.5, longitude: -2))
        var writer = JSONByteWriter(capacity: 0)
        try written.writeJSON(into: &writer)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        #expect(try JSONValue.parse(Array(writer.bytes)) == JSONValue.parse(Array(try encoder.encode(written))))
        #expect(try JSONByteEncoder.encode(written) == Array(writer.bytes))
        var buffer = ByteBuffer(string: "prefix:")
        writer.write(to: &buffer)
        #expect(String(buffer: buffer) == "prefix:" + String(decoding: writer.bytes, as: UTF8.self))
    }

    @Test func rawJSONAndJSONValuesAreWrittenAsTheyAre() throws {
        let raw = RawJSON(validated: ByteBuffer(string: #"{"z":1,"a":[true]}"#))
        #expect(try JSONByteEncoder.encode(["result": raw]) == Array(#"{"result":{"z":1,"a":[true]}}"#.utf8))
        #expect(try JSONByteEncoder.encode(JSONValue.number("1.50")) == Array("1.50".utf8))
    }

    /// Every standard integer width is a number (told apart by metatype, not by a cast to
    /// `any FixedWidthInteger`), at the top and as members.
    @Test func everyStandardIntegerWidthIsANumber() throws {
        struct Widths: Codable, Equatable {
            var a: Int8, b: Int16, c: Int32, d: Int64, e: UInt8, f: UInt16, g: UInt32, h: UInt64, i: UInt
        }
        let widths = Widths(a: .min, b: .min, c: .min, d: .min, e: .max, f: .max, g: .max, h: .max, i: .max)
        try sameAsJSONEncoder(widths)
        #expect(try JSONByteEncoder.encode(Int16(-300)) == Array("-300".utf8))
        #expect(try JSONByteEncoder.encode(UInt32.max) == Array("4294967295".utf8))
        #expect(try JSONByteEncoder.encode([UInt(7), 0]) == Array("[7,0]".utf8))
        #expect(try JSONValue.parse(JSONByteEncoder.encode(widths)).decode(as: Widths.self) == widths)
    }

    struct Failing: JSONByteWritable {
        func writeJSON(into writer: inout JSONByteWriter) throws {
            try writer.object { object in
                object.key("partial"); try object.double(.nan)
            }
        }
        func encode(to encoder: any Encoder) throws {
            throw EncodingError.invalidValue(Double.nan, .init(codingPath: [], debugDescription: "non-finite"))
        }
    }

    /// A dispatcher's result encoder, chosen once per result type, writes what the encoder
    /// writes for each kind of type, and leaves the buffer as it was when a value fails.
    @Test func theResultEncoderWritesWhatTheEncoderWrites() throws {
        func both<T: Encodable>(_ value: T) throws -> (ByteBuffer, ByteBuffer) {
            var ours = ByteBuffer(string: "[")
            try JSONResultEncoder(T.self).encode(value, into: &ours)
            var theirs = ByteBuffer(string: "[")
            try JSONByteEncoder.encode(value, into: &theirs)
            return (ours, theirs)
        }
        let raw = RawJSON(validated: ByteBuffer(string: #"{"z":1,"a":[true]}"#))
        let written = Written(texts: ["a\"b", "é"], numbers: [1.5, -0.0], ids: [UUID()], nested: nil)
        for (ours, theirs) in [try both(raw), try both(written), try both(Self.sample), try both(42), try both(["x": raw])] {
            #expect(ours == theirs)
        }
        #expect(String(buffer: try both(raw).0) == #"[{"z":1,"a":[true]}"#)
        var buffer = ByteBuffer(string: "prefix")
        #expect(throws: EncodingError.self) { try JSONResultEncoder(Failing.self).encode(Failing(), into: &buffer) }
        #expect(String(buffer: buffer) == "prefix")
    }

    @Test func whatWouldBeMalformedIsRefusedAndTheBufferRestored() throws {
        var buffer = ByteBuffer(string: "prefix")
        #expect(throws: EncodingError.self) { try JSONByteEncoder.encode(OutOfOrder(), into: &buffer) }
        #expect(throws: EncodingError.self) { try JSONByteEncoder.encode(["x": Double.nan], into: &buffer) }
        #expect(throws: EncodingError.self) { try JSONByteEncoder.encode([Double.infinity], into: &buffer) }
        #expect(String(buffer: buffer) == "prefix")
    }
}
