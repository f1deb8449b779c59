import Foundation
import MovRInternalAPI
import MovRRPC
import Testing

@testable import MovRAPI

/// A params object a client (public API) or a service (internal API) may validly send.
struct ParamsSample: Sendable, CustomTestStringConvertible {
    var method: String
    var typeName: String
    var json: String
    /// Decodes params as the dispatcher does, and runs a public params type's validation.
    private var decodeAndValidate: @Sendable (JSONValue) throws -> Void
    /// Sends params to an ``RPCDispatcher`` that registers the type, as a server does.
    private var dispatch: @Sendable (JSONValue) async throws -> RPCError?

    init<T: Decodable & Sendable>(method: String, type: T.Type, json: String) {
        self.method = method
        self.typeName = "\(T.self)"
        self.json = json
        decodeAndValidate = { value in
            let params = try value.decode(as: T.self)
            try (params as? any APIParams)?.validate()
        }
        dispatch = { value in
            var dispatcher = RPCDispatcher()
            dispatcher.register("sample", params: T.self) { _, _ in RPCEmpty() }
            let request: JSONValue = ["jsonrpc": "2.0", "id": 1, "method": "sample", "params": value]
            let reply = try #require(await dispatcher.handle(body: request.serialized(), context: RPCContext()))
            switch try RPCResponseDecoder.decode(body: reply) {
            case .success: return nil
            case .failure(let error): return error
            }
        }
    }

    var testDescription: String { "\(method) (\(typeName))" }

    func decode(_ json: JSONValue) throws {
        try decodeAndValidate(json)
    }

    /// The error a server's dispatcher answers for `json` as this method's params; nil when it
    /// decodes them (validation is the handler's, not checked here).
    func dispatchError(_ json: JSONValue) async throws -> RPCError? {
        try await dispatch(json)
    }

    func parsed() throws -> JSONValue {
        try JSONValue.parse(Array(json.utf8))
    }
}

/// Every params type, public and internal, through the server's own decoder (`JSONValue.decode`)
/// and through an ``RPCDispatcher`` registering the type, as the services and the gateway do: a
/// valid sample decodes; an extra key in any object is refused naming it (-32602 with that
/// `field` from the dispatcher); a wrong type names the field.
@Suite("Params decoding")
struct ParamsDecodingTests {
    static let id = "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9"
    static let otherID = "fedcba98-7654-4321-8fed-cba987654321"
    static let location = #"{"latitude": 40.7, "longitude": -74.0}"#

    /// One row per public method; `everyPublicMethodHasASample` notices a method without one.
    static let publicSamples: [ParamsSample] = PublicMethod.allCases.map { method in
        let json = switch method {
        case .citiesList, .authLogout, .usersMe, .usersDelete, .promoCodesList: "{}"
        case .usersRegister:
            #"{"username": "alice", "password": "correct horse", "email": "a@b.co", "first_name": "A", "last_name": "L", "city": "boston"}"#
        case .authLogin: #"{"username": "alice", "password": "pw"}"#
        case .vehiclesList: #"{"city": "paris", "limit": 10, "cursor": "AQAAAAAAAAAB_ty6mHZUQyGP7cuph2VDIQ"}"#
        case .vehiclesGet, .vehiclesRemove, .ridesGet: #"{"id": "\#(id)"}"#
        case .vehiclesMine: #"{"limit": 20, "cursor": "AQAAAAAAAAAB_ty6mHZUQyGP7cuph2VDIQ"}"#
        case .vehiclesAdd:
            #"{"type": "bike", "city": "rome", "location": \#(location), "color": "red", "brand": "b", "battery": 50, "idempotency_key": "k"}"#
        case .vehiclesLocationHistory: #"{"id": "\#(id)", "limit": 3}"#
        case .ridesStart: #"{"vehicle_id": "\#(id.uppercased())", "idempotency_key": "abc"}"#
        case .ridesUpdateLocation: #"{"ride_id": "\#(otherID)", "location": \#(location)}"#
        case .ridesEnd: #"{"ride_id": "\#(otherID)", "location": \#(location), "battery": 7}"#
        case .ridesList: #"{"active_only": true, "limit": 5}"#
        case .promoCodesCreate: #"{"code": "ABC", "description": "d", "percent_off": 5, "expires_at": "2030-01-01T00:00:00Z"}"#
        case .promoCodesApply: #"{"code": "ABC"}"#
        }
        return sample(method.rawValue, method.paramsType, json)
    }

    /// A valid params object per internal method name; the params type of each row comes from
    /// `InternalMethod.table`, the table the services' dispatchers are checked against.
    static let internalJSON: [String: String] = {
        typealias V = InternalMethod.Vehicles
        typealias U = InternalMethod.Users
        typealias R = InternalMethod.Rides
        let rider = #""rider_id": "\#(otherID)""#
        return [
            InternalMethod.ping: "{}",
            V.list: #"{"city": "paris", "limit": 10, "cursor": "c"}"#,
            V.get: #"{"id": "\#(id)"}"#,
            V.owned: #"{"owner_id": "\#(id)", "limit": 20, "cursor": "c"}"#,
            V.add: """
                {"idempotency_key": "k-1", "owner_id": "\(otherID)", "city": "rome", "type": "bike", "location": \(location),
                 "color": "red", "brand": "b", "battery": 100}
                """,
            V.remove: #"{"id": "\#(id)", "owner_id": "\#(otherID)"}"#,
            V.locationHistory: #"{"id": "\#(id)", "limit": 3, "viewer_id": "\#(otherID)"}"#,
            V.reserve: #"{"vehicle_id": "\#(id)", "ride_id": "\#(otherID)", \#(rider)}"#,
            V.release: #"{"vehicle_id": "\#(id)", "ride_id": "\#(otherID)", "location": \#(location), "battery": 40}"#,
            V.recordLocation: #"{"vehicle_id": "\#(id)", "ride_id": "\#(otherID)", "location": \#(location)}"#,
            V.listInUse: #"{"region": "us-east1", "reserved_before": "2026-12-02T10:00:00.000Z"}"#,
            U.register: #"{"username": "alice", "password": "correct horse", "email": "a@b.co", "first_name": "A", "last_name": "L", "city": "boston", "client_address": "10.0.0.1"}"#,
            U.login: #"{"username": "alice", "password": "pw", "client_address": "10.0.0.1"}"#,
            U.logout: #"{"token": "t"}"#,
            U.session: #"{"token": "t"}"#,
            U.sessions: #"{"tokens": ["t1", "t2"]}"#,
            U.get: #"{"id": "\#(id)"}"#,
            U.delete: #"{"id": "\#(id)"}"#,
            U.grantRole: #"{"username": "alice", "role": "admin"}"#,
            R.start: #"{"idempotency_key": "k-1", \#(rider), "vehicle_id": "\#(id)"}"#,
            R.end: #"{"ride_id": "\#(id)", \#(rider), "location": \#(location), "battery": 9}"#,
            R.updateLocation: #"{"ride_id": "\#(id)", \#(rider), "location": \#(location)}"#,
            R.list: #"{\#(rider), "active_only": false, "limit": 25, "cursor": "c"}"#,
            R.get: #"{"id": "\#(id)", \#(rider)}"#,
            R.activeForRider: #"{\#(rider)}"#,
            R.listActive: "{}",
            R.promoList: "{}",
            R.promoCreate: #"{"code": "ABC", "description": "d", "percent_off": 5, "expires_at": 800000000, "created_by": "\#(id)"}"#,
            R.promoApply: #"{"user_id": "\#(id)", "code": "ABC"}"#,
        ]
    }()

    /// One row per entry of `InternalMethod.table` (a method without a sample fails
    /// `everyInternalMethodHasASample`).
    static let internalSamples: [ParamsSample] = InternalMethod.table.map { entry in
        ParamsSample(method: "internal \(entry.service.rawValue) \(entry.name)", type: entry.paramsType,
                     json: internalJSON[entry.name] ?? "")
    }

    static let samples = publicSamples + internalSamples

    private static func sample(_ method: String, _ type: (some APIParams).Type, _ json: String) -> ParamsSample {
        ParamsSample(method: method, type: type, json: json)
    }

    /// Keys a client might try to slip in; those a type legitimately has are skipped for it.
    static let smuggledKeys = ["status", "revenue", "owner_id", "region", "role", "unexpected"]

    @Test func everyPublicMethodHasASample() {
        #expect(Set(Self.publicSamples.map(\.method)) == Set(PublicMethod.allCases.map(\.rawValue)))
        #expect(Set(Self.internalSamples.map(\.method)).count == Self.internalSamples.count)
    }

    @Test func everyInternalMethodHasASample() {
        let names = Set(InternalMethod.table.map(\.name))
        #expect(Set(Self.internalJSON.keys) == names)
        #expect(InternalMethod.table.count == Set(InternalMethod.table.map { "\($0.service) \($0.name)" }).count)
        for service in InternalService.allCases {
            #expect(InternalMethod.names(of: service).contains(InternalMethod.ping), "\(service) answers no ping")
        }
    }

    /// Only the readiness ping is open to any authenticated peer; every other internal method
    /// names who may call it, and no service is listed as a caller of itself.
    @Test func everyInternalMethodButPingHasAnAllowList() {
        for entry in InternalMethod.table {
            if entry.name == InternalMethod.ping {
                #expect(entry.allowedCallers == nil, "\(entry.service) ping")
                continue
            }
            let callers = entry.allowedCallers ?? []
            #expect(!callers.isEmpty, "\(entry.service) \(entry.name)")
            #expect(!callers.contains { $0.rawValue == entry.service.rawValue }, "\(entry.service) \(entry.name)")
        }
    }

    @Test(arguments: samples)
    func validSampleDecodesAndValidates(_ sample: ParamsSample) async throws {
        try sample.decode(try sample.parsed())
        #expect(try await sample.dispatchError(try sample.parsed()) == nil)
    }

    @Test(arguments: samples)
    func unknownKeyIsRefusedInEveryObject(_ sample: ParamsSample) async throws {
        let json = try sample.parsed()
        for (path, members) in JSONPath.objects(in: json) {
            for key in Self.smuggledKeys where members[key] == nil {
                let field = (path + [.member(key)]).text
                let smuggled = JSONPath.replacing(path + [.member(key)], in: json, with: "x")
                let error = decodingError(sample, smuggled)
                #expect(error?.fieldPath == field, "\(sample.method) accepted \(field)")
                if case .dataCorrupted(let context)? = error {
                    #expect(context.debugDescription == "unknown field")
                }
                #expect(error.map { APIValidationError($0) } == APIValidationError(field: field, message: "unknown field"))
                let answered = try await sample.dispatchError(smuggled)
                #expect(answered?.code == -32602 && answered?.data?.field == field, "\(sample.method) served \(field)")
            }
        }
    }

    @Test(arguments: samples)
    func wrongTypeNamesTheField(_ sample: ParamsSample) async throws {
        let json = try sample.parsed()
        for (path, value) in JSONPath.members(in: json) {
            let wrong: JSONValue = if case .string = value { 1 } else { "wrong" }
            let wrongJSON = JSONPath.replacing(path, in: json, with: wrong)
            let error = decodingError(sample, wrongJSON)
            #expect(error?.fieldPath == path.text, "\(sample.method) accepted \(wrong) for \(path.text)")
            let answered = try await sample.dispatchError(wrongJSON)
            #expect(answered?.code == -32602 && answered?.data?.field == path.text, "\(sample.method) served \(path.text)")
        }
    }

    @Test(arguments: samples)
    func paramsMustBeAnObject(_ sample: ParamsSample) async throws {
        for value: JSONValue in [[], "x", 1] {
            let error = decodingError(sample, value)
            #expect(error != nil && error?.fieldPath == nil, "\(sample.method) accepted \(value)")
            // A scalar is not params at all to JSON-RPC (-32600); an array is the wrong shape.
            let answered = try await sample.dispatchError(value)
            let expected = if case .array = value { RPCError.Code.invalidParams } else { RPCError.Code.invalidRequest }
            #expect(answered?.code == expected && answered?.data?.field == nil, "\(sample.method) served \(value)")
        }
    }

    @Test func nestedSamplesExist() {
        // Guards the nested-object checks above against samples that lost their nested objects.
        let nested = Self.samples.filter { sample in
            (try? JSONPath.objects(in: sample.parsed()).count).map { $0 > 1 } ?? false
        }
        #expect(nested.count == 8)
    }

    @Test func decodingErrorsNameTheField() {
        #expect(decodingFailure(VehiclesGetParams.self, "{}") == APIValidationError(field: "id", message: "missing field"))
        #expect(decodingFailure(VehiclesGetParams.self, #"{"id": "not-a-uuid"}"#)?.field == "id")
        #expect(decodingFailure(VehiclesListParams.self, #"{"limit": "ten"}"#)
                == APIValidationError(field: "limit", message: "wrong type, expected number"))
        #expect(decodingFailure(RidesGetParams.self, #"{"id": null}"#)
                == APIValidationError(field: "id", message: "must not be null"))
        #expect(decodingFailure(VehiclesAddParams.self, """
            {"type": "car", "location": {"latitude": 1, "longitude": 2}, "color": "red", "brand": "b"}
            """) == APIValidationError(field: "type", message: "expected one of scooter, bike, skateboard"))
        #expect(decodingFailure(EmptyObject.self, #"{"x": 1}"#) == APIValidationError(field: "x", message: "unknown field"))
        #expect(decodingFailure(EmptyObject.self, "[]")?.field == "params")
    }

    @Test func idsDecodeInEitherCase() throws {
        let lower = try decode(VehiclesGetParams.self, #"{"id": "\#(Self.id)"}"#)
        #expect(try decode(VehiclesGetParams.self, #"{"id": "\#(Self.id.uppercased())"}"#) == lower)
    }

    @Test func nullOptionalParamsMeanAbsent() throws {
        let params = try decode(VehiclesListParams.self, #"{"city": null, "limit": null, "cursor": null}"#)
        #expect(params == VehiclesListParams())
        #expect(params.effectiveLimit == 25)
    }

    @Test func resultsDecodedLenientlyIgnoreUnknownKeys() throws {
        let text = #"""
            {"cities": [], "regions": [], "gateway_region": "us-east1",
             "location": {"city": null, "region": "us-east1", "source": "gateway"}, "new_field": 1}
            """#
        #expect(try decode(CitiesListResult.self, text, strict: false).cities.isEmpty)
        #expect(decodingFailure(CitiesListResult.self, text)?.field == "new_field")
    }

    private func decodingError(_ sample: ParamsSample, _ json: JSONValue) -> DecodingError? {
        do {
            _ = try sample.decode(json)
            return nil
        } catch {
            return error as? DecodingError
        }
    }
}

/// Paths into a JSON document, spelled as `DecodingError.fieldPath` spells them.
enum JSONPath {
    enum Step: Hashable {
        case member(String)
        case index(Int)
    }

    /// Every object in `value` (the top level included) with its path.
    static func objects(in value: JSONValue, at path: [Step] = []) -> [([Step], [String: JSONValue])] {
        var found: [([Step], [String: JSONValue])] = []
        if case .object(let members) = value { found.append((path, members)) }
        for (childPath, child) in children(of: value, at: path) {
            found += objects(in: child, at: childPath)
        }
        return found
    }

    /// Every member and element below the top level, at any depth, with its path.
    static func members(in value: JSONValue, at path: [Step] = []) -> [([Step], JSONValue)] {
        children(of: value, at: path).flatMap { [($0.0, $0.1)] + members(in: $0.1, at: $0.0) }
    }

    /// `value` with `path` set to `replacement`; the last step may name a new member.
    static func replacing(_ path: [Step], in value: JSONValue, with replacement: JSONValue) -> JSONValue {
        guard let step = path.first else { return replacement }
        let rest = Array(path.dropFirst())
        switch (step, value) {
        case (.member(let name), .object(var members)):
            members[name] = replacing(rest, in: members[name] ?? .null, with: replacement)
            return .object(members)
        case (.index(let index), .array(var elements)) where elements.indices.contains(index):
            elements[index] = replacing(rest, in: elements[index], with: replacement)
            return .array(elements)
        default:
            return value
        }
    }

    private static func children(of value: JSONValue, at path: [Step]) -> [([Step], JSONValue)] {
        switch value {
        case .object(let members): members.sorted { $0.key < $1.key }.map { (path + [.member($0.key)], $0.value) }
        case .array(let elements): elements.enumerated().map { (path + [.index($0.offset)], $0.element) }
        default: []
        }
    }
}

extension [JSONPath.Step] {
    var text: String {
        var text = ""
        for step in self {
            switch step {
            case .index(let index): text += "[\(index)]"
            case .member(let name): text += (text.isEmpty ? "" : ".") + name
            }
        }
        return text
    }
}
