import FoundationEssentials
import MovRAPI
import MovRRPC

// Hand-written JSON readers for what every ride, listing or signed-in call sends between
// executables: the params each service decodes (strictly) and the session replies the gateway
// reads back. Each reads what its `Decodable` conformance reads, member for member and in the
// same order, with the same errors; ReadableShapeTests decodes every type here both ways.

extension SessionTokenParams: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(token: try object.string("token"))
    }
}

extension SessionTokensParams: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(tokens: try object.strings("tokens"))
    }
}

extension SessionResult: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(user: try object.decode("user", as: User.self),
                  roles: try object.strings("roles"),
                  expiresAt: try object.referenceDate("expires_at"))
    }
}

extension SessionCheck: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        if let session = try object.decodeIfPresent("session", as: SessionResult.self) {
            guard !object.contains("refused") else {
                throw object.corrupted("refused", "a session check is either a session or refused")
            }
            self = .valid(session)
        } else {
            self = .refused(reason: try object.string("refused"))
        }
    }
}

extension SessionsResult: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(sessions: try object.array("sessions", of: SessionCheck.self))
    }
}

extension InternalVehiclesListParams: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(city: try object.string("city"), limit: try object.int("limit"),
                  cursor: try object.stringIfPresent("cursor"))
    }
}

extension ReserveVehicleParams: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(vehicleID: try object.uuid("vehicle_id"), rideID: try object.uuid("ride_id"),
                  riderID: try object.uuidIfPresent("rider_id"))
    }
}

extension ReleaseVehicleParams: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(vehicleID: try object.uuid("vehicle_id"), rideID: try object.uuid("ride_id"),
                  location: try object.decodeIfPresent("location", as: Location.self),
                  battery: try object.intIfPresent("battery"))
    }
}

extension InternalRidesStartParams: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(idempotencyKey: try object.string("idempotency_key"), riderID: try object.uuid("rider_id"),
                  vehicleID: try object.uuid("vehicle_id"))
    }
}

extension InternalRidesEndParams: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(rideID: try object.uuid("ride_id"), riderID: try object.uuid("rider_id"),
                  location: try object.decode("location", as: Location.self),
                  battery: try object.intIfPresent("battery"))
    }
}
