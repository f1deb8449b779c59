import FoundationEssentials

/// A ride as its rider sees it. Active while `endTime` is nil; the end fields, duration and
/// revenue are filled in together when it ends.
public struct Ride: Codable, Sendable, Hashable {
    public var id: UUID
    public var vehicleID: UUID
    public var riderID: UUID
    public var city: String
    public var region: String
    public var startLocation: Location
    public var endLocation: Location?
    public var startTime: Date
    public var endTime: Date?
    public var durationSeconds: Int?
    /// Decimal string with two places (see `DecimalMoney`), in `currency`.
    public var revenue: String?
    /// ISO 4217 code of the ride's region (`USD`, `EUR`).
    public var currency: String
    public var promoCode: String?

    public init(id: UUID, vehicleID: UUID, riderID: UUID, city: String, region: String,
                startLocation: Location, endLocation: Location? = nil, startTime: Date, endTime: Date? = nil,
                durationSeconds: Int? = nil, revenue: String? = nil, currency: String, promoCode: String? = nil) {
        self.id = id
        self.vehicleID = vehicleID
        self.riderID = riderID
        self.city = city
        self.region = region
        self.startLocation = startLocation
        self.endLocation = endLocation
        self.startTime = startTime
        self.endTime = endTime
        self.durationSeconds = durationSeconds
        self.revenue = revenue
        self.currency = currency
        self.promoCode = promoCode
    }

    /// Whether the ride has not ended yet.
    public var isActive: Bool { endTime == nil }

    enum CodingKeys: String, CodingKey {
        case id
        case vehicleID = "vehicle_id"
        case riderID = "rider_id"
        case city
        case region
        case startLocation = "start_location"
        case endLocation = "end_location"
        case startTime = "start_time"
        case endTime = "end_time"
        case durationSeconds = "duration_seconds"
        case revenue
        case currency
        case promoCode = "promo_code"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeUUID(forKey: .id)
        vehicleID = try container.decodeUUID(forKey: .vehicleID)
        riderID = try container.decodeUUID(forKey: .riderID)
        city = try container.decode(String.self, forKey: .city)
        region = try container.decode(String.self, forKey: .region)
        startLocation = try container.decode(Location.self, forKey: .startLocation)
        endLocation = try container.decodeIfPresent(Location.self, forKey: .endLocation)
        startTime = try container.decodeRFC3339(forKey: .startTime)
        endTime = try container.decodeRFC3339IfPresent(forKey: .endTime)
        durationSeconds = try container.decodeIfPresent(Int.self, forKey: .durationSeconds)
        revenue = try container.decodeIfPresent(String.self, forKey: .revenue)
        currency = try container.decode(String.self, forKey: .currency)
        promoCode = try container.decodeIfPresent(String.self, forKey: .promoCode)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(id, forKey: .id)
        try container.encodeLowercase(vehicleID, forKey: .vehicleID)
        try container.encodeLowercase(riderID, forKey: .riderID)
        try container.encode(city, forKey: .city)
        try container.encode(region, forKey: .region)
        try container.encode(startLocation, forKey: .startLocation)
        try container.encodeOrNull(endLocation, forKey: .endLocation)
        try container.encodeRFC3339(startTime, forKey: .startTime)
        try container.encodeRFC3339OrNull(endTime, forKey: .endTime)
        try container.encodeOrNull(durationSeconds, forKey: .durationSeconds)
        try container.encodeOrNull(revenue, forKey: .revenue)
        try container.encode(currency, forKey: .currency)
        try container.encodeOrNull(promoCode, forKey: .promoCode)
    }
}
