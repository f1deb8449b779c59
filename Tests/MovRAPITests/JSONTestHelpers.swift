import Foundation
import MovRRPC
import Testing

@testable import MovRAPI

/// Encodes `value` and parses it back with JSONSerialization, so shapes compare as plain JSON.
func jsonObject(encoding value: some Encodable) throws -> NSDictionary {
    let data = try JSONEncoder().encode(value)
    return try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
}

func jsonObject(_ text: String) throws -> NSDictionary {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary)
}

/// Decodes `text` as the server does: parsed into a `JSONValue`, then `decode(as:)` (strict
/// unless told otherwise, as for params).
func decode<T: Decodable>(_ type: T.Type, _ text: String, strict: Bool = true) throws -> T {
    try JSONValue.parse(Array(text.utf8)).decode(as: type, strict: strict)
}

/// `value` written by the server's encoder (``JSONByteEncoder``) and read back as a caller
/// reads a reply (`RPCClient.call` and the gateway: `JSONValue.decode(as:strict: false)`).
func roundTrip<T: Codable>(_ value: T, as type: T.Type) throws -> T {
    try JSONValue.parse(JSONByteEncoder.encode(value)).decode(as: type, strict: false)
}

/// The `APIValidationError` decoding `text` as `T` fails with, via the same mapping the gateway uses.
func decodingFailure<T: Decodable>(_ type: T.Type, _ text: String) -> APIValidationError? {
    do {
        _ = try decode(type, text)
        return nil
    } catch let error as DecodingError {
        return APIValidationError(error)
    } catch {
        return APIValidationError(field: "unexpected", message: "\(error)")
    }
}

/// The error `validate()` throws, or nil when the params are valid.
func validationFailure(_ params: some APIParams) -> APIValidationError? {
    do {
        try params.validate()
        return nil
    } catch {
        return error
    }
}

let sampleTime = RFC3339.date(from: "2026-11-27T16:30:02.123Z")!
let laterTime = RFC3339.date(from: "2026-11-27T16:42:07.500Z")!
let userID = UUID(uuidString: "6F1C2A0B-3D4E-4F50-8A6B-7C8D9E0F1A2B")!
let vehicleID = UUID(uuidString: "0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9")!
let rideID = UUID(uuidString: "FEDCBA98-7654-4321-8FED-CBA987654321")!
