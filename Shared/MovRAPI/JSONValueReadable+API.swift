import FoundationEssentials
import MovRRPC
import MovRUUID

// Hand-written JSON readers for the objects the hot paths decode (a vehicle reserved or
// released, the user of every session check). Each reads what its `Decodable` conformance
// reads, member for member and in the same order, with the same errors; ReadableShapeTests
// decodes every type here both ways and compares.

extension JSONObjectReader {
    /// A UUID string (either case), as `KeyedDecodingContainer.decodeUUID(forKey:)` reads it.
    public mutating func uuidString(_ name: String) throws -> UUID {
        guard let id = UUIDText.parse(try string(name)) else { throw corrupted(name, "expected a UUID string") }
        return id
    }

    /// A UUID string, or nil when absent or null (`decodeUUIDIfPresent(forKey:)`).
    public mutating func uuidStringIfPresent(_ name: String) throws -> UUID? {
        guard let text = try stringIfPresent(name) else { return nil }
        guard let id = UUIDText.parse(text) else { throw corrupted(name, "expected a UUID string") }
        return id
    }

    /// An RFC 3339 date-time string, as `KeyedDecodingContainer.decodeRFC3339(forKey:)` reads it.
    public mutating func rfc3339(_ name: String) throws -> Date {
        guard let date = RFC3339.date(from: try string(name)) else { throw corrupted(name, "expected an RFC 3339 time") }
        return date
    }

    /// An RFC 3339 date-time string, or nil when absent or null (`decodeRFC3339IfPresent(forKey:)`).
    public mutating func rfc3339IfPresent(_ name: String) throws -> Date? {
        guard let text = try stringIfPresent(name) else { return nil }
        guard let date = RFC3339.date(from: text) else { throw corrupted(name, "expected an RFC 3339 time") }
        return date
    }
}

extension Location: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(latitude: try object.double("latitude"), longitude: try object.double("longitude"))
    }
}

extension VehicleType {
    /// The member `name` as `init(from:)` reads it.
    static func read(_ name: String, from object: inout JSONObjectReader) throws -> VehicleType {
        guard let type = VehicleType(rawValue: try object.string(name)) else {
            throw object.corrupted(name, "expected one of " + allCases.map(\.rawValue).joined(separator: ", "))
        }
        return type
    }
}

extension VehicleStatus {
    /// The member `name` as the synthesized `RawRepresentable` decoding reads it.
    static func read(_ name: String, from object: inout JSONObjectReader) throws -> VehicleStatus {
        let text = try object.string(name)
        guard let status = VehicleStatus(rawValue: text) else {
            throw object.corrupted(name, "Cannot initialize VehicleStatus from invalid String value \(text)")
        }
        return status
    }
}

extension Vehicle: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(id: try object.uuidString("id"),
                  type: try VehicleType.read("type", from: &object),
                  city: try object.string("city"),
                  region: try object.string("region"),
                  ownerID: try object.uuidStringIfPresent("owner_id"),
                  status: try VehicleStatus.read("status", from: &object),
                  battery: try object.int("battery"),
                  location: try object.decode("location", as: Location.self),
                  color: try object.string("color"),
                  brand: try object.string("brand"),
                  createdAt: try object.rfc3339("created_at"))
    }
}

extension VehicleResult: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(vehicle: try object.decode("vehicle", as: Vehicle.self))
    }
}

extension User: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(id: try object.uuidString("id"),
                  username: try object.string("username"),
                  email: try object.string("email"),
                  firstName: try object.string("first_name"),
                  lastName: try object.string("last_name"),
                  city: try object.string("city"),
                  region: try object.string("region"),
                  createdAt: try object.rfc3339("created_at"))
    }
}

// The public params of the calls a gateway serves most (the lists, the ride cycle), decoded
// strictly for every request: the same errors reach the client either way.

extension VehiclesListParams: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(city: try object.stringIfPresent("city"), limit: try object.intIfPresent("limit"),
                  cursor: try object.stringIfPresent("cursor"))
    }
}

extension RidesStartParams: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(vehicleID: try object.uuid("vehicle_id"), idempotencyKey: try object.stringIfPresent("idempotency_key"))
    }
}

extension RidesEndParams: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(rideID: try object.uuid("ride_id"), location: try object.decode("location", as: Location.self),
                  battery: try object.intIfPresent("battery"))
    }
}

// Rides, as a caller of `rides.start` and `rides.end` reads them back (the load engine, the
// benchmark, the demo data).

extension Ride: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(id: try object.uuidString("id"),
                  vehicleID: try object.uuidString("vehicle_id"),
                  riderID: try object.uuidString("rider_id"),
                  city: try object.string("city"),
                  region: try object.string("region"),
                  startLocation: try object.decode("start_location", as: Location.self),
                  endLocation: try object.decodeIfPresent("end_location", as: Location.self),
                  startTime: try object.rfc3339("start_time"),
                  endTime: try object.rfc3339IfPresent("end_time"),
                  durationSeconds: try object.intIfPresent("duration_seconds"),
                  revenue: try object.stringIfPresent("revenue"),
                  currency: try object.string("currency"),
                  promoCode: try object.stringIfPresent("promo_code"))
    }
}

extension RideResult: JSONValueReadable {
    public init(jsonObject object: inout JSONObjectReader) throws {
        self.init(ride: try object.decode("ride", as: Ride.self))
    }
}
