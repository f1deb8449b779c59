/// A city MovR serves and the region its data lives in.
public struct CityInfo: Codable, Sendable, Hashable {
    public var city: String
    public var region: String

    public init(city: String, region: String) {
        self.city = city
        self.region = region
    }

    enum CodingKeys: String, CodingKey {
        case city
        case region
    }
}
