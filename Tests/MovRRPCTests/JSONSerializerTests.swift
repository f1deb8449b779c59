import Foundation
import Testing

@testable import MovRRPC

@Suite("JSON serializer and Codable bridge")
struct JSONSerializerTests {
    @Test("serializes compactly with sorted keys and literal numbers")
    func compactOutput() {
        let value: JSONValue = ["b": [1, .number("1.50"), nil, true], "a": "x", "c": [:]]
        #expect(String(decoding: value.serialized(), as: UTF8.self) == #"{"a":"x","b":[1,1.50,null,true],"c":{}}"#)
    }

    @Test("escapes quotes, backslashes and control characters")
    func escaping() throws {
        let text = "q\"b\\s/n\nr\rt\tb\u{8}f\u{C}z\u{0}u\u{1F}é😀\u{7F}"
        let json = String(decoding: JSONValue.string(text).serialized(), as: UTF8.self)
        #expect(json == #""q\"b\\s/n\nr\rt\tb\bf\fz\u0000u\u001fé😀"# + "\u{7F}\"")
        #expect(try JSONValue.parse(Array(json.utf8)) == .string(text))
    }

    @Test("parse inverts serialize")
    func roundTrip() throws {
        let value: JSONValue = [
            "id": .number("-12.500e+7"), "list": [[], [:], ["nested": ["deep": [nil]]]],
            "text": "line\nbreak \"quoted\" \\ 🚲", "flags": [true, false],
        ]
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    struct SampleLocation: Codable, Equatable {
        var latitude: Double
        var longitude: Double
    }

    struct Vehicle: Codable, Equatable {
        var id: String
        var battery: Int
        var location: SampleLocation
        var ownerID: String?
        var extra: JSONValue?

        enum CodingKeys: String, CodingKey {
            case id, battery, location, extra
            case ownerID = "owner_id"
        }
    }

    @Test("decodes into and encodes from Codable types")
    func codableBridge() throws {
        let json: JSONValue = [
            "id": "v1", "battery": 87, "location": ["latitude": .number("40.7"), "longitude": .number("-74.0")],
            "owner_id": "u9", "extra": ["any": [1, "two"]],
        ]
        let vehicle = try json.decode(as: Vehicle.self)
        #expect(vehicle == Vehicle(id: "v1", battery: 87, location: SampleLocation(latitude: 40.7, longitude: -74.0),
                                   ownerID: "u9", extra: ["any": [1, "two"]]))
        let encoded = try JSONValue(encoding: vehicle)
        #expect(encoded["owner_id"] == "u9")
        #expect(encoded["battery"] == 87)
        #expect(encoded["extra"] == ["any": [1, "two"]])
        #expect(try encoded.decode(as: Vehicle.self) == vehicle)
        #expect(try JSONValue(encoding: "a/b") == "a/b")
    }

    @Test("decoding failures name the coding path")
    func decodingFailure() throws {
        let json: JSONValue = ["id": "v1", "battery": 87, "location": ["latitude": "north", "longitude": 1]]
        do {
            _ = try json.decode(as: Vehicle.self)
            Issue.record("decoding should have failed")
        } catch let error as DecodingError {
            #expect(error.fieldPath == "location.latitude")
        }
    }

    @Test("numbers from doubles are valid JSON")
    func doubles() throws {
        #expect(JSONValue(2.0) == .number("2"))
        #expect(JSONValue(0.1)?.numberLiteral.map { Double($0) } == 0.1)
        let huge = try #require(JSONValue(1e300))
        #expect(try JSONValue.parse(huge.serialized()) == huge)
        #expect(JSONValue(Double.nan) == nil)
        #expect(JSONValue(-Double.infinity) == nil)
    }

    enum Kind: String, Decodable { case bike, scooter }

    struct Everything: Decodable {
        var kind: Kind
        var count: UInt8
        var big: Int64
        var price: Decimal
        var ratio: Float
        var blob: Data
        var raw: JSONValue
        var maybe: String?
        var absent: String?
        var pairs: [[Int]]
        var map: [String: Bool]
    }

    @Test("decoding reads every kind of member, keeping number literals exact")
    func decoderCoverage() throws {
        let json = try JSONValue.parse(Array(#"""
            {"kind":"scooter","count":1e2,"big":-9223372036854775808,"price":"x","ratio":0.5,"blob":"AAEC",
             "raw":{"n":1.50},"maybe":null,"pairs":[[1,2],[]],"map":{"a":true}}
            """#.utf8))
        var members = try #require(json.objectValue)
        members["price"] = .number("19.99")
        let value = try JSONValue.object(members).decode(as: Everything.self)
        #expect(value.kind == .scooter)
        #expect(value.count == 100)
        #expect(value.big == .min)
        #expect(value.price == Decimal(string: "19.99"))
        #expect(value.ratio == 0.5)
        #expect(value.blob == Data([0, 1, 2]))
        #expect(value.raw == ["n": .number("1.50")])
        #expect(value.maybe == nil && value.absent == nil)
        #expect(value.pairs == [[1, 2], []])
        #expect(value.map == ["a": true])
    }

    @Test("decoding failures carry the path of the bad member", arguments: [
        (#"{"kind":"car"}"#, "kind"),
        (#"{"kind":"bike","count":256}"#, "count"),
        (#"{"kind":"bike","count":1.5}"#, "count"),
        (#"{"kind":"bike","count":-1}"#, "count"),
        (#"{"kind":"bike","count":1,"big":9223372036854775808}"#, "big"),
        (#"{"kind":"bike","count":1,"big":1,"price":"1"}"#, "price"),
        (#"{"kind":"bike","count":1,"big":1,"price":1,"ratio":1e999}"#, "ratio"),
        (#"{"kind":"bike","count":1,"big":1,"price":1,"ratio":1,"blob":"%%"}"#, "blob"),
        (#"{"kind":"bike","count":1,"big":1,"price":1,"ratio":1,"blob":"","raw":0,"pairs":[[1],[1,"x"]]}"#, "pairs[1][1]"),
        (#"{"kind":"bike","count":1,"big":1,"price":1,"ratio":1,"blob":"","raw":0,"pairs":[],"map":{"a":null}}"#, "map.a"),
        (#"{"kind":null}"#, "kind"),
    ])
    func decoderPaths(text: String, path: String) throws {
        do {
            _ = try JSONValue.parse(Array(text.utf8)).decode(as: Everything.self)
            Issue.record("decoding should have failed")
        } catch let error as DecodingError {
            #expect(error.fieldPath == path)
        }
    }
}
