/// A city MovR serves, the region its data lives in, and its extent (center and radius), from
/// which a client can draw a map without tiles.
public struct CityInfo: Codable, Sendable, Hashable {
    public var city: String
    public var region: String
    public var latitude: Double
    public var longitude: Double
    public var radiusKm: Double

    public init(city: String, region: String, latitude: Double, longitude: Double, radiusKm: Double) {
        self.city = city
        self.region = region
        self.latitude = latitude
        self.longitude = longitude
        self.radiusKm = radiusKm
    }

    enum CodingKeys: String, CodingKey {
        case city
        case region
        case latitude
        case longitude
        case radiusKm = "radius_km"
    }
}
