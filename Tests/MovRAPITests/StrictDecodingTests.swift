import Foundation
import Testing

@testable import MovRAPI

@Suite("Params reject unknown keys")
struct StrictDecodingTests {
    /// One valid params object per method, as a client would send it.
    static let validParams: [(PublicMethod, String)] = [
        (.citiesList, "{}"),
        (.usersRegister, #"{"username": "alice", "password": "correct horse", "email": "a@b.co", "first_name": "A", "last_name": "L", "city": "boston"}"#),
        (.authLogin, #"{"username": "alice", "password": "pw"}"#),
        (.authLogout, "{}"),
        (.usersMe, "{}"),
        (.usersDelete, "{}"),
        (.vehiclesList, #"{"city": "paris", "limit": 10}"#),
        (.vehiclesGet, #"{"id": "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9"}"#),
        (.vehiclesAdd, #"{"type": "bike", "location": {"latitude": 1, "longitude": 2}, "color": "red", "brand": "b"}"#),
        (.vehiclesRemove, #"{"id": "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9"}"#),
        (.vehiclesLocationHistory, #"{"id": "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9", "limit": 3}"#),
        (.ridesStart, #"{"vehicle_id": "0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9", "idempotency_key": "abc"}"#),
        (.ridesUpdateLocation, #"{"ride_id": "fedcba98-7654-4321-8fed-cba987654321", "location": {"latitude": 1, "longitude": 2}}"#),
        (.ridesEnd, #"{"ride_id": "fedcba98-7654-4321-8fed-cba987654321", "location": {"latitude": 1, "longitude": 2}, "battery": 7}"#),
        (.ridesList, #"{"active_only": true}"#),
        (.ridesGet, #"{"id": "fedcba98-7654-4321-8fed-cba987654321"}"#),
        (.promoCodesList, "{}"),
        (.promoCodesCreate, #"{"code": "ABC", "description": "d", "percent_off": 5, "expires_at": "2030-01-01T00:00:00Z"}"#),
        (.promoCodesApply, #"{"code": "ABC"}"#),
    ]

    @Test func everyMethodHasASample() {
        #expect(Set(Self.validParams.map(\.0)) == Set(PublicMethod.allCases))
    }

    @Test(arguments: validParams.map(\.0))
    func validParamsDecodeAndValidate(_ method: PublicMethod) throws {
        let text = try #require(Self.validParams.first { $0.0 == method }?.1)
        let params = try decode(method.paramsType, text)
        try params.validate()
    }

    @Test(arguments: validParams.map(\.0))
    func forbiddenKeyIsRejectedAtItsPath(_ method: PublicMethod) throws {
        let text = try #require(Self.validParams.first { $0.0 == method }?.1)
        for key in ["status", "revenue", "owner_id", "region"] {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            object[key] = "x"
            let data = try JSONSerialization.data(withJSONObject: object)
            do {
                _ = try JSONDecoder().decode(method.paramsType, from: data)
                Issue.record("\(method.rawValue) accepted \(key)")
            } catch let error as DecodingError {
                guard case .dataCorrupted(let context) = error else {
                    Issue.record("\(method.rawValue): unexpected \(error)")
                    continue
                }
                #expect(context.codingPath.map(\.stringValue) == [key])
                #expect(context.debugDescription == "unknown field")
                #expect(APIValidationError(error) == APIValidationError(field: key, message: "unknown field"))
            }
        }
    }

    @Test func unknownKeyInsideNestedLocationNamesTheFullPath() {
        let failure = decodingFailure(RidesEndParams.self, """
            {"ride_id": "fedcba98-7654-4321-8fed-cba987654321",
             "location": {"latitude": 1, "longitude": 2, "altitude": 3}}
            """)
        #expect(failure == APIValidationError(field: "location.altitude", message: "unknown field"))
    }

    @Test func resultsIgnoreUnknownKeysForForwardCompatibility() throws {
        let result = try decode(CitiesListResult.self, #"{"cities": [], "regions": [], "new_field": 1}"#)
        #expect(result.cities.isEmpty)
    }

    @Test func decodingErrorsNameTheField() {
        #expect(decodingFailure(VehiclesGetParams.self, "{}")
                == APIValidationError(field: "id", message: "missing field"))
        #expect(decodingFailure(VehiclesGetParams.self, #"{"id": "not-a-uuid"}"#)
                == APIValidationError(field: "id", message: "expected a UUID string"))
        #expect(decodingFailure(VehiclesListParams.self, #"{"limit": "ten"}"#)?.field == "limit")
        #expect(decodingFailure(RidesGetParams.self, #"{"id": null}"#)?.field == "id")
        #expect(decodingFailure(VehiclesAddParams.self, """
            {"type": "car", "location": {"latitude": 1, "longitude": 2}, "color": "red", "brand": "b"}
            """) == APIValidationError(field: "type", message: "expected one of scooter, bike, skateboard"))
        #expect(decodingFailure(EmptyObject.self, #"{"x": 1}"#) == APIValidationError(field: "x", message: "unknown field"))
        #expect(decodingFailure(EmptyObject.self, "[]")?.field == "params")
    }

    @Test func nullOptionalParamsMeanAbsent() throws {
        let params = try decode(VehiclesListParams.self, #"{"city": null, "limit": null, "cursor": null}"#)
        #expect(params == VehiclesListParams())
        #expect(params.effectiveLimit == 25)
    }
}
