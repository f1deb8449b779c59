import Foundation
import MovRInternalAPI
import MovRRPC
import Testing

@testable import MovRAPI

/// The hand-written readers (``JSONValueReadable``) against the `Decodable` conformances they
/// stand in for: for each type, a valid object and, mechanically, every member removed, null,
/// given each JSON type and a few bad strings, and an unknown member added, at the top and
/// inside nested objects; strict and lenient. Both ways must give the same value, or the same
/// error (kind, field path, description, expected type).
@Suite("Hand-written JSON readers against Decodable")
struct ReadableShapeTests {
    static let user = User(id: userID, username: "alice", email: "alice@example.com", firstName: "Alice",
                           lastName: "Liddell", city: "new york", region: "us-east1", createdAt: sampleTime)
    static let vehicle = Vehicle(id: vehicleID, type: .scooter, city: "paris", region: "europe-west1", ownerID: userID,
                                 status: .inUse, battery: 87, location: Location(latitude: 48.85, longitude: 2.35),
                                 color: "red", brand: "Lime", createdAt: sampleTime)
    static let session = SessionResult(user: user, roles: ["rider", "admin"], expiresAt: laterTime)

    /// What a decoding came to, in terms both ways must agree on.
    enum Outcome: Equatable, CustomStringConvertible {
        case value(String)
        case failure(kind: String, field: String, description: String, type: String)

        var description: String {
            switch self {
            case .value(let json): "value \(json)"
            case .failure(let kind, let field, let description, let type): "\(kind) at '\(field)': \(description) [\(type)]"
            }
        }
    }

    static func outcome(_ body: () throws -> some Encodable) -> Outcome {
        do {
            return .value(String(decoding: try JSONByteEncoder.encode(try body()), as: UTF8.self))
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, let context):
                return .failure(kind: "keyNotFound", field: error.fieldPath ?? "", description: context.debugDescription,
                                type: key.stringValue)
            case .valueNotFound(let type, let context):
                return .failure(kind: "valueNotFound", field: error.fieldPath ?? "", description: context.debugDescription,
                                type: "\(type)")
            case .typeMismatch(let type, let context):
                return .failure(kind: "typeMismatch", field: error.fieldPath ?? "", description: context.debugDescription,
                                type: "\(type)")
            case .dataCorrupted(let context):
                return .failure(kind: "dataCorrupted", field: error.fieldPath ?? "", description: context.debugDescription,
                                type: "")
            @unknown default:
                return .failure(kind: "unknown", field: "", description: "\(error)", type: "")
            }
        } catch {
            return .failure(kind: "other", field: "", description: "\(error)", type: "")
        }
    }

    /// Values a member is replaced by: every JSON type, and strings no member here accepts.
    static let replacements: [JSONValue] = [
        .null, true, 0, -1, 1.5.jsonNumber, "1e3".asNumber, "99999999999999999999".asNumber, "", "x",
        "not-a-uuid", "2026-13-45T99:00:00Z", "in_usex", [], ["x"], [1], [:], ["a": 1],
    ]

    /// `base` and every variant of it: members removed, replaced, added, two at once, in nested
    /// objects too.
    static func variants(of base: JSONValue) -> [JSONValue] {
        var result: [JSONValue] = [base, .null, "x", 1, [], [base]]
        guard case .object(let members) = base else { return result }
        result.append(.object(members.merging(["zz_extra": 1]) { $1 }))
        result.append(.object(members.merging(["aa_extra": .null]) { $1 }))
        result.append(.object(members.merging(["aa_extra": 1, "zz_extra": 2]) { $1 }))
        // Two members wrong at once (no member here takes a boolean): the first one asked for is
        // the one reported, so the readers must ask in the conformance's order.
        for first in members.keys {
            for second in members.keys where second != first {
                var changed = members
                changed[first] = true
                changed[second] = true
                result.append(.object(changed))
            }
        }
        for (key, value) in members {
            var without = members
            without[key] = nil
            result.append(.object(without))
            for replacement in replacements {
                var changed = members
                changed[key] = replacement
                result.append(.object(changed))
            }
            // Nested objects and arrays' first elements: their own variants, all the way down.
            let nested: [JSONValue]
            switch value {
            case .object: nested = variants(of: value).filter { $0 != value }
            case .array(let elements) where !elements.isEmpty:
                nested = variants(of: elements[0]).map { .array([$0] + elements.dropFirst()) }
                    + [.array(elements + [.null]), .array(elements + [1])]
            default: nested = []
            }
            for variant in nested {
                var changed = members
                changed[key] = variant
                result.append(.object(changed))
            }
        }
        return result
    }

    func expectSameAsDecodable<T: JSONValueReadable & Encodable>(_ sample: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let base = try JSONValue.parse(try JSONByteEncoder.encode(sample))
        var compared = 0
        for variant in Self.variants(of: base) {
            for strict in [true, false] {
                let ours = Self.outcome { try variant.decode(as: T.self, strict: strict) }
                let theirs = Self.outcome { try variant.decodeThroughCodable(as: T.self, strict: strict) }
                #expect(ours == theirs, "\(T.self), strict \(strict), \(variant)", sourceLocation: sourceLocation)
                compared += 1
            }
        }
        // The sample itself must decode (else every comparison could be two equal failures).
        let decoded = Self.outcome { try base.decode(as: T.self) }
        #expect(decoded == .value(String(decoding: try JSONByteEncoder.encode(sample), as: UTF8.self)),
                sourceLocation: sourceLocation)
        #expect(compared >= 12, sourceLocation: sourceLocation)
    }

    @Test func apiObjectsReadAsTheirDecodable() throws {
        try expectSameAsDecodable(Location(latitude: 48.85, longitude: -2.35))
        try expectSameAsDecodable(Self.vehicle)
        try expectSameAsDecodable(Vehicle(id: vehicleID, type: .bike, city: "rome", region: "europe-west1", ownerID: nil,
                                          status: .available, battery: 0, location: Location(latitude: 0, longitude: 0),
                                          color: "", brand: "b", createdAt: laterTime))
        try expectSameAsDecodable(VehicleResult(vehicle: Self.vehicle))
        try expectSameAsDecodable(Self.user)
        let active = Ride(id: rideID, vehicleID: vehicleID, riderID: userID, city: "boston", region: "us-east1",
                          startLocation: Location(latitude: 42.36, longitude: -71.06), startTime: sampleTime, currency: "USD")
        let ended = Ride(id: rideID, vehicleID: vehicleID, riderID: userID, city: "boston", region: "us-east1",
                         startLocation: Location(latitude: 42.36, longitude: -71.06),
                         endLocation: Location(latitude: 42.35, longitude: -71.05), startTime: sampleTime,
                         endTime: laterTime, durationSeconds: 725, revenue: "4.25", currency: "USD", promoCode: "WELCOME10")
        try expectSameAsDecodable(active)
        try expectSameAsDecodable(ended)
        try expectSameAsDecodable(RideResult(ride: ended))
    }

    /// Public params: their errors reach clients, so they must be the same word for word.
    @Test func publicParamsReadAsTheirDecodable() throws {
        try expectSameAsDecodable(VehiclesListParams(city: "new york", limit: 25, cursor: "AQAB"))
        try expectSameAsDecodable(VehiclesListParams(city: nil, limit: nil, cursor: nil))
        try expectSameAsDecodable(RidesStartParams(vehicleID: vehicleID, idempotencyKey: "k-1"))
        try expectSameAsDecodable(RidesStartParams(vehicleID: vehicleID))
        try expectSameAsDecodable(RidesEndParams(rideID: rideID, location: Location(latitude: 1, longitude: 2), battery: 50))
        try expectSameAsDecodable(RidesEndParams(rideID: rideID, location: Location(latitude: 1, longitude: 2)))
    }

    @Test func internalParamsAndRepliesReadAsTheirDecodable() throws {
        try expectSameAsDecodable(SessionTokenParams(token: "aB3-_x\\\"y"))
        try expectSameAsDecodable(SessionTokensParams(tokens: ["t1", "t2"]))
        try expectSameAsDecodable(Self.session)
        try expectSameAsDecodable(SessionCheck.valid(Self.session))
        try expectSameAsDecodable(SessionCheck.refused(reason: "token_expired"))
        try expectSameAsDecodable(SessionsResult(sessions: [.valid(Self.session), .refused(reason: "invalid_token")]))
        try expectSameAsDecodable(SessionsResult(sessions: [.refused(reason: "invalid_token"), .valid(Self.session)]))
        try expectSameAsDecodable(InternalVehiclesListParams(city: "new york", limit: 25, cursor: "AQAB"))
        try expectSameAsDecodable(InternalVehiclesListParams(city: "new york", limit: 25, cursor: nil))
        try expectSameAsDecodable(ReserveVehicleParams(vehicleID: vehicleID, rideID: rideID, riderID: userID))
        try expectSameAsDecodable(ReleaseVehicleParams(vehicleID: vehicleID, rideID: rideID,
                                                       location: Location(latitude: 1.5, longitude: 2), battery: 3))
        try expectSameAsDecodable(ReleaseVehicleParams(vehicleID: vehicleID, rideID: rideID, location: nil, battery: nil))
        try expectSameAsDecodable(InternalRidesStartParams(idempotencyKey: "key-1", riderID: userID, vehicleID: vehicleID))
        try expectSameAsDecodable(InternalRidesEndParams(rideID: rideID, riderID: userID,
                                                         location: Location(latitude: 42.35, longitude: -71.05), battery: 80))
    }

    /// An `auth.sessions` entry holding both a session and a refusal is refused, both ways alike.
    @Test func aSessionCheckIsEitherASessionOrRefused() throws {
        let both = try JSONValue.parse(Array(#"{"refused":"invalid_token","session":"#.utf8)
                                       + JSONByteEncoder.encode(Self.session) + Array("}".utf8))
        let ours = Self.outcome { try both.decode(as: SessionCheck.self, strict: false) }
        #expect(ours == Self.outcome { try both.decodeThroughCodable(as: SessionCheck.self, strict: false) })
        #expect(ours == .failure(kind: "dataCorrupted", field: "refused",
                                 description: "a session check is either a session or refused", type: ""))
    }

    /// The readers are what decoding uses, at the top and nested in a `Decodable` type: a type
    /// whose reader answers differently from its `init(from:)` shows which one ran.
    @Test func decodingTakesTheReader() throws {
        let json: JSONValue = ["probe": ["n": 1]]
        #expect(try json["probe"]!.decode(as: Probe.self).source == "reader")
        #expect(try json["probe"]!.decodeThroughCodable(as: Probe.self).source == "decodable")
        #expect(try json.decode(as: Holder.self).probe.source == "reader")
        #expect(try JSONValue.array([["n": 1]]).decode(as: [Probe].self).first?.source == "reader")
        // Strictness reaches the reader: an unknown member is refused, at its path.
        let extra: JSONValue = ["probe": ["n": 1, "m": 2]]
        #expect(Self.outcome { try extra.decode(as: Holder.self) }
            == .failure(kind: "dataCorrupted", field: "probe.m", description: "unknown field", type: ""))
        #expect((try? extra.decode(as: Holder.self, strict: false))?.probe.n == 1)
    }

    struct Probe: JSONValueReadable, Codable {
        var n: Int
        var source = "decodable"

        enum CodingKeys: String, CodingKey { case n }

        init(jsonObject object: inout JSONObjectReader) throws {
            n = try object.int("n")
            source = "reader"
        }
    }

    struct Holder: Codable {
        var probe: Probe
    }
}

private extension Double {
    var jsonNumber: JSONValue { JSONValue(self)! }
}

private extension String {
    var asNumber: JSONValue { .number(self) }
}
