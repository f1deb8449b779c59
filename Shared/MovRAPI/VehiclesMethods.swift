import FoundationEssentials

/// Params of `vehicles.list`: available vehicles of a city, one page at a time.
public struct VehiclesListParams: APIParams {
    /// Overrides the city resolved from the client's location headers.
    public var city: String?
    public var limit: Int?
    public var cursor: String?

    public init(city: String? = nil, limit: Int? = nil, cursor: String? = nil) {
        self.city = city
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

    public func validate() throws(APIValidationError) {
        if let city { try FieldRule.city(city) }
        try FieldRule.limit(limit)
        try FieldRule.cursor(cursor)
    }
}

/// `vehicles.mine`: the caller's own vehicles, every city and status but removed, oldest first.
public struct VehiclesMineParams: APIParams {
    public var limit: Int?
    public var cursor: String?

    public init(limit: Int? = nil, cursor: String? = nil) {
        self.limit = limit
        self.cursor = cursor
    }

    /// `limit`, or the API's default page size.
    public var effectiveLimit: Int { limit ?? PageLimit.default }

    public func validate() throws(APIValidationError) {
        try FieldRule.limit(limit)
        try FieldRule.cursor(cursor)
    }
}

/// Result of `vehicles.list` and `vehicles.mine`; `nextCursor` is nil (JSON `null`) on the last page.
public struct VehiclesListResult: Codable, Sendable, Hashable {
    public var vehicles: [Vehicle]
    public var nextCursor: String?

    public init(vehicles: [Vehicle], nextCursor: String?) {
        self.vehicles = vehicles
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case vehicles
        case nextCursor = "next_cursor"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        vehicles = try container.decode([Vehicle].self, forKey: .vehicles)
        nextCursor = try container.decodeIfPresent(String.self, forKey: .nextCursor)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(vehicles, forKey: .vehicles)
        try container.encodeOrNull(nextCursor, forKey: .nextCursor)
    }
}

/// Params of `vehicles.get`.
public struct VehiclesGetParams: APIParams {
    public var id: UUID

    public init(id: UUID) { self.id = id }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(id, forKey: .id)
    }

    public func validate() throws(APIValidationError) {}
}

/// Params of `vehicles.remove` (owner only).
public struct VehiclesRemoveParams: APIParams {
    public var id: UUID

    public init(id: UUID) { self.id = id }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(id, forKey: .id)
    }

    public func validate() throws(APIValidationError) {}
}

/// Params of `vehicles.add`: the caller becomes the owner; status starts `available`.
public struct VehiclesAddParams: APIParams {
    public var type: VehicleType
    public var city: String?
    public var location: Location
    public var color: String
    public var brand: String
    /// Percent charge; the service picks a default (full) when nil.
    public var battery: Int?
    /// A retry with the same key returns the vehicle created the first time.
    public var idempotencyKey: String?

    public init(type: VehicleType, city: String? = nil, location: Location, color: String, brand: String,
                battery: Int? = nil, idempotencyKey: String? = nil) {
        self.idempotencyKey = idempotencyKey
        self.type = type
        self.city = city
        self.location = location
        self.color = color
        self.brand = brand
        self.battery = battery
    }

    enum CodingKeys: String, CodingKey {
        case type
        case city
        case location
        case color
        case brand
        case battery
        case idempotencyKey = "idempotency_key"
    }

    public func validate() throws(APIValidationError) {
        if let city { try FieldRule.city(city) }
        try location.validate()
        try FieldRule.label(color, field: "color")
        try FieldRule.label(brand, field: "brand")
        if let battery { try FieldRule.battery(battery) }
        if let idempotencyKey { try FieldRule.idempotencyKey(idempotencyKey) }
    }
}

/// Result of `vehicles.get`, `vehicles.add` and `vehicles.remove`.
public struct VehicleResult: Codable, Sendable, Hashable {
    public var vehicle: Vehicle

    public init(vehicle: Vehicle) { self.vehicle = vehicle }

    enum CodingKeys: String, CodingKey {
        case vehicle
    }
}

/// Params of `vehicles.location_history`: the newest `limit` positions of a vehicle.
public struct LocationHistoryParams: APIParams {
    public var id: UUID
    public var limit: Int?

    public init(id: UUID, limit: Int? = nil) {
        self.id = id
        self.limit = limit
    }

    /// `limit`, or the API's default page size.
    public var effectiveLimit: Int { limit ?? PageLimit.default }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(id, forKey: .id)
        try container.encodeIfPresent(limit, forKey: .limit)
    }

    public func validate() throws(APIValidationError) {
        try FieldRule.limit(limit)
    }
}

/// One recorded position of a vehicle; `rideID` is the ride it was recorded during, if any.
public struct LocationRecord: Codable, Sendable, Hashable {
    public var latitude: Double
    public var longitude: Double
    public var recordedAt: Date
    public var rideID: UUID?

    public init(latitude: Double, longitude: Double, recordedAt: Date, rideID: UUID? = nil) {
        self.latitude = latitude
        self.longitude = longitude
        self.recordedAt = recordedAt
        self.rideID = rideID
    }

    enum CodingKeys: String, CodingKey {
        case latitude
        case longitude
        case recordedAt = "recorded_at"
        case rideID = "ride_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        latitude = try container.decode(Double.self, forKey: .latitude)
        longitude = try container.decode(Double.self, forKey: .longitude)
        recordedAt = try container.decodeRFC3339(forKey: .recordedAt)
        rideID = try container.decodeUUIDIfPresent(forKey: .rideID)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(latitude, forKey: .latitude)
        try container.encode(longitude, forKey: .longitude)
        try container.encodeRFC3339(recordedAt, forKey: .recordedAt)
        try container.encodeLowercaseOrNull(rideID, forKey: .rideID)
    }
}

/// Result of `vehicles.location_history`, newest first.
public struct LocationHistoryResult: Codable, Sendable, Hashable {
    public var locations: [LocationRecord]

    public init(locations: [LocationRecord]) { self.locations = locations }

    enum CodingKeys: String, CodingKey {
        case locations
    }
}
