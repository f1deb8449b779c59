import Foundation
import Testing

@testable import MovRRPC

/// `JSONValue.decode(as:)` refuses object members the decoded type never asks for, at any depth,
/// with the coding path ending at the refused member.
@Suite("Strict decoding")
struct StrictDecodingTests {
    struct Point: Codable, Equatable {
        var latitude: Double
        var longitude: Double
    }

    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case dot
    }

    struct Trip: Codable, Equatable {
        var name: String
        var start: Point
        var stops: [Point]
        var end: Point?
        var shape: Shape?
        var tags: [String: Int]?
        var metadata: JSONValue?
    }

    /// Reads `inner` through `nestedContainer`, as hand-written `init(from:)`s do, and asks whether
    /// `legacy` is there without reading it.
    struct Wrapper: Decodable {
        var value: Int

        enum CodingKeys: String, CodingKey { case inner, legacy }
        enum InnerKeys: String, CodingKey { case value }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            _ = container.contains(.legacy)
            value = try container.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner).decode(Int.self, forKey: .value)
        }
    }

    static let trip = #"""
        {"name": "t", "start": {"latitude": 1, "longitude": 2},
         "stops": [{"latitude": 3, "longitude": 4}, {"latitude": 5, "longitude": 6}],
         "end": {"latitude": 7, "longitude": 8}, "shape": {"circle": {"radius": 1}},
         "tags": {"any": 1, "key": 2}, "metadata": {"free": ["form", {"x": 1}]}}
        """#

    func parse(_ text: String) throws -> JSONValue {
        try JSONValue.parse(Array(text.utf8))
    }

    /// The path and description of the error decoding `json` as `T` fails with.
    func failure<T: Decodable>(_ type: T.Type, _ json: JSONValue, strict: Bool = true) -> (path: String?, message: String)? {
        do {
            _ = try json.decode(as: type, strict: strict)
            return nil
        } catch let error as DecodingError {
            guard case .dataCorrupted(let context) = error else { return (error.fieldPath, "\(error)") }
            return (error.fieldPath, context.debugDescription)
        } catch {
            return (nil, "\(error)")
        }
    }

    @Test func everyKnownMemberDecodes() throws {
        let trip = try parse(Self.trip).decode(as: Trip.self)
        #expect(trip.stops == [Point(latitude: 3, longitude: 4), Point(latitude: 5, longitude: 6)])
        #expect(trip.shape == .circle(radius: 1))
        #expect(trip.tags == ["any": 1, "key": 2])
        #expect(trip.metadata == ["free": ["form", ["x": 1]]])
    }

    @Test("an unknown member is refused at its path", arguments: [
        (#"{"name": "t", "start": {"latitude": 1, "longitude": 2}, "stops": [], "extra": 1}"#, "extra"),
        (#"{"name": "t", "start": {"latitude": 1, "longitude": 2, "extra": 1}, "stops": []}"#, "start.extra"),
        (#"{"name": "t", "start": {"latitude": 1, "longitude": 2},"#
            + #" "stops": [{"latitude": 3, "longitude": 4}, {"latitude": 5, "longitude": 6, "extra": 1}]}"#, "stops[1].extra"),
        (#"{"name": "t", "start": {"latitude": 1, "longitude": 2}, "stops": [], "end": {"latitude": 1, "longitude": 2, "extra": 1}}"#,
         "end.extra"),
        (#"{"name": "t", "start": {"latitude": 1, "longitude": 2}, "stops": [], "shape": {"circle": {"radius": 1, "extra": 1}}}"#,
         "shape.circle.extra"),
    ])
    func unknownMember(text: String, path: String) throws {
        let json = try parse(text)
        let refused = failure(Trip.self, json)
        #expect(refused?.path == path)
        #expect(refused?.message == "unknown field")
        #expect(failure(Trip.self, json, strict: false) == nil)
    }

    @Test func membersOfFreeFormValuesAndDictionariesAreNotUnknown() throws {
        let json = try parse(#"""
            {"name": "t", "start": {"latitude": 1, "longitude": 2}, "stops": [],
             "tags": {"extra": 1}, "metadata": {"extra": {"deeper": 1}}}
            """#)
        #expect(try json.decode(as: Trip.self).tags?["extra"] == 1)
    }

    @Test func absentAndNullOptionalsAreFine() throws {
        let json = try parse(#"{"name": "t", "start": {"latitude": 1, "longitude": 2}, "stops": [], "end": null}"#)
        #expect(try json.decode(as: Trip.self).end == nil)
    }

    @Test func nestedContainersAndContainsCount() throws {
        #expect(try parse(#"{"inner": {"value": 1}, "legacy": true}"#).decode(as: Wrapper.self).value == 1)
        #expect(failure(Wrapper.self, try parse(#"{"inner": {"value": 1, "x": 2}}"#))?.path == "inner.x")
        #expect(failure(Wrapper.self, try parse(#"{"inner": {"value": 1}, "x": 2}"#))?.path == "x")
    }

    @Test func theFirstUnknownMemberByNameIsReported() throws {
        let json = try parse(#"{"latitude": 1, "longitude": 2, "zeta": 1, "alpha": 1, "mid": 1}"#)
        #expect(failure(Point.self, json)?.path == "alpha")
    }

    @Test func arraysOfObjectsAtTheTopAreCheckedToo() throws {
        let json = try parse(#"[{"latitude": 1, "longitude": 2}, {"latitude": 1, "longitude": 2, "z": 0}]"#)
        #expect(failure([Point].self, json)?.path == "[1].z")
    }

    @Test func aFailedMemberIsReportedBeforeUnknownOnes() throws {
        let json = try parse(#"{"latitude": "north", "longitude": 2, "extra": 1}"#)
        #expect(failure(Point.self, json)?.path == "latitude")
    }

    @Test func emptyParamsRefuseEveryMember() throws {
        #expect(try parse("{}").decode(as: RPCEmptyParams.self) == RPCEmptyParams())
        #expect(failure(RPCEmptyParams.self, try parse(#"{"status": "x"}"#))?.path == "status")
        #expect(failure(RPCEmptyParams.self, try parse(#"{"status": "x"}"#), strict: false) == nil)
    }

    /// Reads every member `m0`...`m{count-1}` it is told of, some twice, and asks for absent ones.
    struct Wide: Decodable {
        static let count = TaskLocal<Int>(wrappedValue: 0)
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for index in 0..<Self.count.get() {
                _ = try container.decode(Int.self, forKey: Key(stringValue: "m\(index)"))
                if index % 3 == 0 { _ = try container.decode(Int.self, forKey: Key(stringValue: "m\(index)")) }
                _ = try container.decodeIfPresent(Int.self, forKey: Key(stringValue: "absent\(index)"))
            }
        }
    }

    /// Objects up to 64 members mark members by position, larger ones by name: both accept an
    /// object whose every member was read (some twice, absent ones asked for too) and report the
    /// smallest name of those never read.
    @Test(arguments: [1, 5, 63, 64, 65, 200])
    func objectsOfEverySizeAreCheckedAlike(members: Int) throws {
        func object(_ names: [String]) throws -> JSONValue {
            try parse("{" + names.map { "\"\($0)\": 1" }.joined(separator: ", ") + "}")
        }
        let names = (0..<members).map { "m\($0)" }
        let whole = try object(names)
        let withExtra = try object(names + ["zz", "extra"])
        try Wide.count.withValue(members) {
            _ = try whole.decode(as: Wide.self)
            #expect(failure(Wide.self, withExtra)?.path == "extra")
        }
        Wide.count.withValue(members - 1) {
            // The last member is never read.
            #expect(failure(Wide.self, whole)?.path == "m\(members - 1)")
        }
    }
}
