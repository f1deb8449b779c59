import Foundation
import Testing

@testable import MovRRPC

/// `JSONValue.decode(as:)` converts ids, dates, optional members and the strings of an array
/// without a decoder per value (`JSONValueKeyedContainer`, `JSONValueUnkeyedContainer`). Those
/// shortcuts must answer exactly as the `Codable` walk does: the same values, and for bad input
/// the same kind of error at the same coding path. Foundation's `JSONDecoder` is the reference
/// (the same default strategies: `Date` as seconds since the reference date, `UUID` as text).
@Suite("Decoder shortcuts")
struct DecoderShortcutTests {
    struct Record: Codable, Equatable {
        var id: UUID
        var at: Date
        var maybeID: UUID?
        var maybeAt: Date?
        var name: String?
        var count: Int?
        var big: Int64?
        var ratio: Double?
        var flag: Bool?
        var tags: [String]
        var ids: [UUID]?
        var inner: Inner?
    }

    struct Inner: Codable, Equatable {
        var when: Date
        var labels: [String]?
    }

    static let valid = [
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":786297600.25,"tags":[]}"#,
        #"{"id":"6f9619ff-8b86-d011-b42d-00c04fc964ff","at":0,"maybeID":null,"maybeAt":null,"name":null,"count":null,"#
            + #""big":null,"ratio":null,"flag":null,"tags":["a","b"],"ids":null,"inner":null}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":-1.5,"maybeID":"00000000-0000-0000-0000-000000000001","#
            + #""maybeAt":12,"name":"n","count":7,"big":9007199254740993,"ratio":0.5,"flag":true,"tags":["x"],"#
            + #""ids":["00000000-0000-0000-0000-000000000002"],"inner":{"when":3,"labels":["p","q"]}}"#,
    ]

    static let invalid = [
        #"{"id":42,"at":0,"tags":[]}"#,                                               // id: a number
        #"{"id":"not-a-uuid","at":0,"tags":[]}"#,                                     // id: bad text
        #"{"id":null,"at":0,"tags":[]}"#,                                             // id: null
        #"{"at":0,"tags":[]}"#,                                                       // id: absent
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":"2026-12-05","tags":[]}"#,   // at: a string
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":null,"tags":[]}"#,        // at: null
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"maybeID":7,"tags":[]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"maybeID":"x","tags":[]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"maybeAt":"soon","tags":[]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"name":5,"tags":[]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"count":"7","tags":[]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"big":true,"tags":[]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"ratio":"half","tags":[]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"flag":1,"tags":[]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"tags":[1]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"tags":["a",null]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"tags":"a"}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"tags":[],"ids":["x"]}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"tags":[],"inner":{"when":"x"}}"#,
        #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"tags":[],"inner":{"when":1,"labels":[true]}}"#,
    ]

    enum Outcome: Equatable {
        case value(Record)
        /// The error's kind and its coding path (`name`, or `[index]` for an array element).
        case failure(kind: String, path: [String])
    }

    static func outcome(_ body: () throws -> Record) -> Outcome {
        do {
            return .value(try body())
        } catch let error as DecodingError {
            let (kind, context): (String, DecodingError.Context) = switch error {
            case .typeMismatch(_, let context): ("typeMismatch", context)
            case .valueNotFound(_, let context): ("valueNotFound", context)
            case .keyNotFound(let key, let context):
                ("keyNotFound", DecodingError.Context(codingPath: context.codingPath + [key], debugDescription: ""))
            case .dataCorrupted(let context): ("dataCorrupted", context)
            @unknown default: ("unknown", DecodingError.Context(codingPath: [], debugDescription: ""))
            }
            return .failure(kind: kind, path: context.codingPath.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue })
        } catch {
            return .failure(kind: "\(type(of: error))", path: [])
        }
    }

    static func reference(_ text: String) -> Outcome {
        outcome { try JSONDecoder().decode(Record.self, from: Data(text.utf8)) }
    }

    @Test("the same value as JSONDecoder", arguments: valid, [false, true])
    func sameValue(_ text: String, strict: Bool) throws {
        let ours = Self.outcome { try JSONValue.parse(Array(text.utf8)).decode(as: Record.self, strict: strict) }
        guard case .value = Self.reference(text) else {
            Issue.record("the reference refused \(text)")
            return
        }
        #expect(ours == Self.reference(text))
    }

    @Test("the same error at the same path as JSONDecoder", arguments: invalid, [false, true])
    func sameError(_ text: String, strict: Bool) throws {
        let reference = Self.reference(text)
        guard case .failure = reference else {
            Issue.record("the reference accepted \(text)")
            return
        }
        let ours = Self.outcome { try JSONValue.parse(Array(text.utf8)).decode(as: Record.self, strict: strict) }
        #expect(ours == reference, "\(text)")
    }

    /// Where the two differ on purpose: a fraction into an integer is refused by both, and only
    /// ours says where (Foundation's error has an empty path).
    @Test func aFractionForAnIntegerIsRefusedAtItsMember() throws {
        let text = #"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"count":1.5,"tags":[]}"#
        #expect(Self.reference(text) == .failure(kind: "dataCorrupted", path: []))
        for strict in [false, true] {
            let ours = Self.outcome { try JSONValue.parse(Array(text.utf8)).decode(as: Record.self, strict: strict) }
            #expect(ours == .failure(kind: "dataCorrupted", path: ["count"]))
        }
    }

    /// An optional member read through the one-lookup path still counts as asked for, so strict
    /// decoding takes it; a member the type never asks for is still refused.
    @Test func optionalMembersCountAsAskedFor() throws {
        let all = try JSONValue.parse(Array(Self.valid[2].utf8))
        #expect(throws: Never.self) { try all.decode(as: Record.self, strict: true) }
        let extra = try JSONValue.parse(Array(#"{"id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","at":0,"tags":[],"x":1}"#.utf8))
        #expect(throws: DecodingError.self) { try extra.decode(as: Record.self, strict: true) }
        #expect(throws: Never.self) { try extra.decode(as: Record.self, strict: false) }
    }
}
