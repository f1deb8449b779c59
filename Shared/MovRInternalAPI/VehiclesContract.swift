import FoundationEssentials
import MovRAPI
import MovRRPC

public struct InternalVehiclesListParams: Codable, Sendable {
    public var city: String
    public var limit: Int
    public var cursor: String?

    public init(city: String, limit: Int, cursor: String?) {
        self.city = city
        self.limit = limit
        self.cursor = cursor
    }
}

/// Written by hand: every `vehicles.list` through a gateway sends one, and the `Codable` walk
/// was a visible share of the gateway's CPU per request. Same members as the synthesized
/// conformance (`cursor` left out when nil); ByteEncoderShapeTests compares the two.
extension InternalVehiclesListParams: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        writer.object { object in
            object.key("city"); object.string(city)
            object.key("limit"); object.integer(limit)
            if let cursor { object.key("cursor"); object.string(cursor) }
        }
    }
}

/// One owner's vehicles, a page at a time (`vehicles.mine`).
public struct InternalVehiclesOwnedParams: Codable, Sendable {
    public var ownerID: UUID
    public var limit: Int
    public var cursor: String?

    enum CodingKeys: String, CodingKey {
        case limit, cursor
        case ownerID = "owner_id"
    }

    public init(ownerID: UUID, limit: Int, cursor: String?) {
        self.ownerID = ownerID
        self.limit = limit
        self.cursor = cursor
    }
}

/// A vehicle to create; the gateway sets the owner (the caller), the city and the idempotency key
/// (the client's, else a fresh random one); the vehicles service derives the vehicle's id from the
/// owner and the key (`IdempotentCreate`) and fills in what the client left out.
public struct InternalVehiclesAddParams: Codable, Sendable {
    public var idempotencyKey: String
    public var ownerID: UUID
    public var city: String
    public var type: String
    public var location: Location
    public var color: String
    public var brand: String
    /// Nil: the vehicles service's default (a new vehicle is charged).
    public var battery: Int?

    enum CodingKeys: String, CodingKey {
        case city, type, location, color, brand, battery
        case idempotencyKey = "idempotency_key"
        case ownerID = "owner_id"
    }

    public init(idempotencyKey: String, ownerID: UUID, city: String, type: String, location: Location,
                color: String, brand: String, battery: Int?) {
        self.idempotencyKey = idempotencyKey
        self.ownerID = ownerID
        self.city = city
        self.type = type
        self.location = location
        self.color = color
        self.brand = brand
        self.battery = battery
    }
}

public struct InternalVehiclesRemoveParams: Codable, Sendable {
    public var id: UUID
    public var ownerID: UUID

    enum CodingKeys: String, CodingKey {
        case id
        case ownerID = "owner_id"
    }

    public init(id: UUID, ownerID: UUID) {
        self.id = id
        self.ownerID = ownerID
    }
}

public struct ReserveVehicleParams: Codable, Sendable {
    public var vehicleID: UUID
    public var rideID: UUID
    /// Who rides: only they see the positions of the ride in the vehicle's location history.
    /// Optional so a rides service of the previous release can still reserve.
    public var riderID: UUID?

    enum CodingKeys: String, CodingKey {
        case vehicleID = "vehicle_id"
        case rideID = "ride_id"
        case riderID = "rider_id"
    }

    public init(vehicleID: UUID, rideID: UUID, riderID: UUID?) {
        self.vehicleID = vehicleID
        self.rideID = rideID
        self.riderID = riderID
    }
}

/// Written by hand (every `rides.start` has the rides service send one); `rider_id` left out
/// when nil, as the synthesized conformance does.
extension ReserveVehicleParams: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        writer.object { object in
            object.key("vehicle_id"); object.uppercaseUUID(vehicleID)
            object.key("ride_id"); object.uppercaseUUID(rideID)
            if let riderID { object.key("rider_id"); object.uppercaseUUID(riderID) }
        }
    }
}

/// `vehicles.location_history` for a signed-in viewer: the owner sees the vehicle's history
/// except the positions of another user's ride in progress; the rider of the ride in progress
/// sees that ride's positions; anyone else is refused (docs/API.md).
public struct InternalLocationHistoryParams: Codable, Sendable {
    public var id: UUID
    public var limit: Int
    public var viewerID: UUID

    enum CodingKeys: String, CodingKey {
        case id, limit
        case viewerID = "viewer_id"
    }

    public init(id: UUID, limit: Int, viewerID: UUID) {
        self.id = id
        self.limit = limit
        self.viewerID = viewerID
    }
}

public struct ReleaseVehicleParams: Codable, Sendable {
    public var vehicleID: UUID
    public var rideID: UUID
    /// Nil when a reservation is undone (the vehicle stays where it was).
    public var location: Location?
    public var battery: Int?

    enum CodingKeys: String, CodingKey {
        case vehicleID = "vehicle_id"
        case rideID = "ride_id"
        case location, battery
    }

    public init(vehicleID: UUID, rideID: UUID, location: Location?, battery: Int?) {
        self.vehicleID = vehicleID
        self.rideID = rideID
        self.location = location
        self.battery = battery
    }
}

/// Written by hand (every `rides.end` has the rides service send one); nil members left out, as
/// the synthesized conformance does.
extension ReleaseVehicleParams: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.object { object in
            object.key("vehicle_id"); object.uppercaseUUID(vehicleID)
            object.key("ride_id"); object.uppercaseUUID(rideID)
            if let location { object.key("location"); try location.writeJSON(into: &object) }
            if let battery { object.key("battery"); object.integer(battery) }
        }
    }
}

public struct RecordVehicleLocationParams: Codable, Sendable {
    public var vehicleID: UUID
    public var rideID: UUID
    public var location: Location

    enum CodingKeys: String, CodingKey {
        case vehicleID = "vehicle_id"
        case rideID = "ride_id"
        case location
    }

    public init(vehicleID: UUID, rideID: UUID, location: Location) {
        self.vehicleID = vehicleID
        self.rideID = rideID
        self.location = location
    }
}

/// `vehicles.list_in_use`: the reservations of one region (all when absent) held since before
/// `reserved_before` (any age when absent). The rides reconciler asks for its own region's
/// reservations older than its grace period, filtered by the database, not by the caller.
public struct VehiclesInUseParams: Codable, Sendable, Equatable {
    public var region: String?
    public var reservedBefore: Date?

    enum CodingKeys: String, CodingKey {
        case region
        case reservedBefore = "reserved_before"
    }

    public init(region: String? = nil, reservedBefore: Date? = nil) {
        self.region = region
        self.reservedBefore = reservedBefore
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        region = try container.decodeIfPresent(String.self, forKey: .region)
        reservedBefore = try container.decodeRFC3339IfPresent(forKey: .reservedBefore)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(region, forKey: .region)
        if let reservedBefore { try container.encodeRFC3339(reservedBefore, forKey: .reservedBefore) }
    }
}

public struct VehicleReservation: Codable, Sendable, Equatable {
    public var vehicleID: UUID
    public var rideID: UUID
    public var region: String
    public var reservedAt: Date

    enum CodingKeys: String, CodingKey {
        case vehicleID = "vehicle_id"
        case rideID = "ride_id"
        case region
        case reservedAt = "reserved_at"
    }

    public init(vehicleID: UUID, rideID: UUID, region: String, reservedAt: Date) {
        self.vehicleID = vehicleID
        self.rideID = rideID
        self.region = region
        self.reservedAt = reservedAt
    }
}

public struct VehiclesInUseResult: Codable, Sendable {
    public var reservations: [VehicleReservation]

    public init(reservations: [VehicleReservation]) {
        self.reservations = reservations
    }
}
