import FoundationEssentials

/// The kinds of vehicle MovR rents out.
public enum VehicleType: String, Codable, Sendable, CaseIterable {
    case scooter
    case bike
    case skateboard

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let type = Self(rawValue: try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected one of " + Self.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = type
    }
}

/// A vehicle's state; only the services change it, never a client directly.
public enum VehicleStatus: String, Codable, Sendable, CaseIterable {
    case available
    case inUse = "in_use"
    case removed
}

/// A vehicle as clients see it.
public struct Vehicle: Codable, Sendable, Hashable {
    public var id: UUID
    public var type: VehicleType
    public var city: String
    public var region: String
    /// The user who added it; nil for fleet vehicles.
    public var ownerID: UUID?
    public var status: VehicleStatus
    public var battery: Int
    public var location: Location
    public var color: String
    public var brand: String
    public var createdAt: Date

    public init(id: UUID, type: VehicleType, city: String, region: String, ownerID: UUID?,
                status: VehicleStatus, battery: Int, location: Location, color: String, brand: String,
                createdAt: Date) {
        self.id = id
        self.type = type
        self.city = city
        self.region = region
        self.ownerID = ownerID
        self.status = status
        self.battery = battery
        self.location = location
        self.color = color
        self.brand = brand
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case type
        case city
        case region
        case ownerID = "owner_id"
        case status
        case battery
        case location
        case color
        case brand
        case createdAt = "created_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeUUID(forKey: .id)
        type = try container.decode(VehicleType.self, forKey: .type)
        city = try container.decode(String.self, forKey: .city)
        region = try container.decode(String.self, forKey: .region)
        ownerID = try container.decodeUUIDIfPresent(forKey: .ownerID)
        status = try container.decode(VehicleStatus.self, forKey: .status)
        battery = try container.decode(Int.self, forKey: .battery)
        location = try container.decode(Location.self, forKey: .location)
        color = try container.decode(String.self, forKey: .color)
        brand = try container.decode(String.self, forKey: .brand)
        createdAt = try container.decodeRFC3339(forKey: .createdAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(city, forKey: .city)
        try container.encode(region, forKey: .region)
        try container.encodeLowercaseOrNull(ownerID, forKey: .ownerID)
        try container.encode(status, forKey: .status)
        try container.encode(battery, forKey: .battery)
        try container.encode(location, forKey: .location)
        try container.encode(color, forKey: .color)
        try container.encode(brand, forKey: .brand)
        try container.encodeRFC3339(createdAt, forKey: .createdAt)
    }
}
