import FoundationEssentials
import MovRAPI
import MovRRPC

/// Start a ride; every retry with the same key names the same ride.
public struct InternalRidesStartParams: Codable, Sendable {
    /// The client's key, else a fresh random one from the gateway; the rides service derives
    /// the ride's id from the rider and the key (`IdempotentCreate`).
    public var idempotencyKey: String
    public var riderID: UUID
    public var vehicleID: UUID

    enum CodingKeys: String, CodingKey {
        case idempotencyKey = "idempotency_key"
        case riderID = "rider_id"
        case vehicleID = "vehicle_id"
    }

    public init(idempotencyKey: String, riderID: UUID, vehicleID: UUID) {
        self.idempotencyKey = idempotencyKey
        self.riderID = riderID
        self.vehicleID = vehicleID
    }
}

/// Written by hand (every `rides.start` sends one): same members as the synthesized conformance,
/// ids as `UUID` spells them; ByteEncoderShapeTests compares the two.
extension InternalRidesStartParams: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        writer.object { object in
            object.key("idempotency_key"); object.string(idempotencyKey)
            object.key("rider_id"); object.uppercaseUUID(riderID)
            object.key("vehicle_id"); object.uppercaseUUID(vehicleID)
        }
    }
}

public struct InternalRidesEndParams: Codable, Sendable {
    public var rideID: UUID
    public var riderID: UUID
    public var location: Location
    public var battery: Int?

    enum CodingKeys: String, CodingKey {
        case rideID = "ride_id"
        case riderID = "rider_id"
        case location, battery
    }

    public init(rideID: UUID, riderID: UUID, location: Location, battery: Int?) {
        self.rideID = rideID
        self.riderID = riderID
        self.location = location
        self.battery = battery
    }
}

/// Written by hand (every `rides.end` sends one); `battery` left out when nil, as the
/// synthesized conformance does.
extension InternalRidesEndParams: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.object { object in
            object.key("ride_id"); object.uppercaseUUID(rideID)
            object.key("rider_id"); object.uppercaseUUID(riderID)
            object.key("location"); try location.writeJSON(into: &object)
            if let battery { object.key("battery"); object.integer(battery) }
        }
    }
}

public struct InternalRidesUpdateLocationParams: Codable, Sendable {
    public var rideID: UUID
    public var riderID: UUID
    public var location: Location

    enum CodingKeys: String, CodingKey {
        case rideID = "ride_id"
        case riderID = "rider_id"
        case location
    }

    public init(rideID: UUID, riderID: UUID, location: Location) {
        self.rideID = rideID
        self.riderID = riderID
        self.location = location
    }
}

public struct InternalRidesListParams: Codable, Sendable {
    public var riderID: UUID
    public var activeOnly: Bool
    public var limit: Int
    public var cursor: String?

    enum CodingKeys: String, CodingKey {
        case riderID = "rider_id"
        case activeOnly = "active_only"
        case limit, cursor
    }

    public init(riderID: UUID, activeOnly: Bool, limit: Int, cursor: String?) {
        self.riderID = riderID
        self.activeOnly = activeOnly
        self.limit = limit
        self.cursor = cursor
    }
}

public struct InternalRidesGetParams: Codable, Sendable {
    public var id: UUID
    public var riderID: UUID

    enum CodingKeys: String, CodingKey {
        case id
        case riderID = "rider_id"
    }

    public init(id: UUID, riderID: UUID) {
        self.id = id
        self.riderID = riderID
    }
}

public struct RiderParams: Codable, Sendable {
    public var riderID: UUID

    enum CodingKeys: String, CodingKey {
        case riderID = "rider_id"
    }

    public init(riderID: UUID) {
        self.riderID = riderID
    }
}

public struct ActiveRideResult: Codable, Sendable {
    public var active: Bool

    public init(active: Bool) {
        self.active = active
    }
}

public struct InternalPromoCreateParams: Codable, Sendable {
    public var code: String
    public var description: String
    public var percentOff: Int
    public var expiresAt: Date
    public var createdBy: UUID

    enum CodingKeys: String, CodingKey {
        case code, description
        case percentOff = "percent_off"
        case expiresAt = "expires_at"
        case createdBy = "created_by"
    }

    public init(code: String, description: String, percentOff: Int, expiresAt: Date, createdBy: UUID) {
        self.code = code
        self.description = description
        self.percentOff = percentOff
        self.expiresAt = expiresAt
        self.createdBy = createdBy
    }
}

public struct InternalPromoApplyParams: Codable, Sendable {
    public var userID: UUID
    public var code: String

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case code
    }

    public init(userID: UUID, code: String) {
        self.userID = userID
        self.code = code
    }
}

/// An active ride as the operator's checker sees it.
public struct ActiveRideSummary: Codable, Sendable, Equatable {
    public var rideID: UUID
    public var vehicleID: UUID
    public var riderID: UUID
    public var status: String

    enum CodingKeys: String, CodingKey {
        case rideID = "ride_id"
        case vehicleID = "vehicle_id"
        case riderID = "rider_id"
        case status
    }

    public init(rideID: UUID, vehicleID: UUID, riderID: UUID, status: String) {
        self.rideID = rideID
        self.vehicleID = vehicleID
        self.riderID = riderID
        self.status = status
    }
}

public struct ActiveRidesResult: Codable, Sendable {
    public var rides: [ActiveRideSummary]

    public init(rides: [ActiveRideSummary]) {
        self.rides = rides
    }
}
