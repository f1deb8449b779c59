import FoundationEssentials

/// Params of `rides.start`. A retry with the same `idempotencyKey` returns the first ride.
public struct RidesStartParams: APIParams {
    public var vehicleID: UUID
    public var idempotencyKey: String?

    public init(vehicleID: UUID, idempotencyKey: String? = nil) {
        self.vehicleID = vehicleID
        self.idempotencyKey = idempotencyKey
    }

    enum CodingKeys: String, CodingKey {
        case vehicleID = "vehicle_id"
        case idempotencyKey = "idempotency_key"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(vehicleID, forKey: .vehicleID)
        try container.encodeIfPresent(idempotencyKey, forKey: .idempotencyKey)
    }

    public func validate() throws(APIValidationError) {
        if let idempotencyKey { try FieldRule.idempotencyKey(idempotencyKey) }
    }
}

/// Params of `rides.update_location` (own active ride); result `EmptyObject`.
public struct RidesUpdateLocationParams: APIParams {
    public var rideID: UUID
    public var location: Location

    public init(rideID: UUID, location: Location) {
        self.rideID = rideID
        self.location = location
    }

    enum CodingKeys: String, CodingKey {
        case rideID = "ride_id"
        case location
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(rideID, forKey: .rideID)
        try container.encode(location, forKey: .location)
    }

    public func validate() throws(APIValidationError) {
        try location.validate()
    }
}

/// Params of `rides.end` (own active ride): where the vehicle was left and its battery.
public struct RidesEndParams: APIParams {
    public var rideID: UUID
    public var location: Location
    public var battery: Int?

    public init(rideID: UUID, location: Location, battery: Int? = nil) {
        self.rideID = rideID
        self.location = location
        self.battery = battery
    }

    enum CodingKeys: String, CodingKey {
        case rideID = "ride_id"
        case location
        case battery
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(rideID, forKey: .rideID)
        try container.encode(location, forKey: .location)
        try container.encodeIfPresent(battery, forKey: .battery)
    }

    public func validate() throws(APIValidationError) {
        try location.validate()
        if let battery { try FieldRule.battery(battery) }
    }
}

/// Result of `rides.start`, `rides.end` and `rides.get`.
public struct RideResult: Codable, Sendable, Hashable {
    public var ride: Ride

    public init(ride: Ride) { self.ride = ride }

    enum CodingKeys: String, CodingKey {
        case ride
    }
}

/// Params of `rides.list`: the caller's rides, newest first.
public struct RidesListParams: APIParams {
    public var activeOnly: Bool?
    public var limit: Int?
    public var cursor: String?

    public init(activeOnly: Bool? = nil, limit: Int? = nil, cursor: String? = nil) {
        self.activeOnly = activeOnly
        self.limit = limit
        self.cursor = cursor
    }

    /// `limit`, or the API's default page size.
    public var effectiveLimit: Int { limit ?? PageLimit.default }

    /// The decoded `cursor`; nil for the first page.
    public func pageCursor() throws(APIValidationError) -> PageCursor? {
        guard let cursor else { return nil }
        return try PageCursor(decoding: cursor)
    }

    enum CodingKeys: String, CodingKey {
        case activeOnly = "active_only"
        case limit
        case cursor
    }

    public func validate() throws(APIValidationError) {
        try FieldRule.limit(limit)
        try FieldRule.cursor(cursor)
    }
}

/// Result of `rides.list`; `nextCursor` is nil (JSON `null`) on the last page.
public struct RidesListResult: Codable, Sendable, Hashable {
    public var rides: [Ride]
    public var nextCursor: String?

    public init(rides: [Ride], nextCursor: String?) {
        self.rides = rides
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case rides
        case nextCursor = "next_cursor"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rides = try container.decode([Ride].self, forKey: .rides)
        nextCursor = try container.decodeIfPresent(String.self, forKey: .nextCursor)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(rides, forKey: .rides)
        try container.encodeOrNull(nextCursor, forKey: .nextCursor)
    }
}

/// Params of `rides.get` (own ride).
public struct RidesGetParams: APIParams {
    public var id: UUID

    public init(id: UUID) { self.id = id }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(id, forKey: .id)
    }

    public func validate() throws(APIValidationError) {}
}
