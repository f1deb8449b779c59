/// Result of `cities.list` (params: `EmptyObject`): the locality map, and where the gateway
/// places the caller.
public struct CitiesListResult: Codable, Sendable, Hashable {
    public var cities: [CityInfo]
    public var regions: [String]
    /// The region of the gateway that answered.
    public var gatewayRegion: String
    /// The caller's location as the gateway resolved it.
    public var location: ClientLocationInfo

    public init(cities: [CityInfo], regions: [String], gatewayRegion: String, location: ClientLocationInfo) {
        self.cities = cities
        self.regions = regions
        self.gatewayRegion = gatewayRegion
        self.location = location
    }

    enum CodingKeys: String, CodingKey {
        case cities
        case regions
        case gatewayRegion = "gateway_region"
        case location
    }
}

/// A resolved client location: the city (null when only a region is known), its region, and the
/// rule that decided (`x_city`, `x_place_city`, `x_place_coordinates`, `user`, `gateway`).
public struct ClientLocationInfo: Codable, Sendable, Hashable {
    public var city: String?
    public var region: String
    public var source: String

    public init(city: String?, region: String, source: String) {
        self.city = city
        self.region = region
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case city
        case region
        case source
    }

    // Explicit so `city` is present as null, as everywhere in the API.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(city, forKey: .city)
        try container.encode(region, forKey: .region)
        try container.encode(source, forKey: .source)
    }
}
