/// Result of `cities.list` (params: `EmptyObject`).
public struct CitiesListResult: Codable, Sendable, Hashable {
    public var cities: [CityInfo]
    public var regions: [String]

    public init(cities: [CityInfo], regions: [String]) {
        self.cities = cities
        self.regions = regions
    }

    enum CodingKeys: String, CodingKey {
        case cities
        case regions
    }
}
