/// A point on Earth: `{"latitude": 40.7, "longitude": -74.0}`.
public struct Location: Codable, Sendable, Hashable {
    public var latitude: Double
    public var longitude: Double

    public init(latitude: Double, longitude: Double) {
        self.latitude = latitude
        self.longitude = longitude
    }

    enum CodingKeys: String, CodingKey {
        case latitude
        case longitude
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.strictContainer(keyedBy: CodingKeys.self)
        latitude = try container.decode(Double.self, forKey: .latitude)
        longitude = try container.decode(Double.self, forKey: .longitude)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(latitude, forKey: .latitude)
        try container.encode(longitude, forKey: .longitude)
    }

    /// Checks the coordinates; `field` prefixes the reported name (`location.latitude`).
    public func validate(field: String = "location") throws(APIValidationError) {
        guard latitude.isFinite, (-90.0...90.0).contains(latitude) else {
            throw APIValidationError(field: field + ".latitude", message: "must be between -90 and 90")
        }
        guard longitude.isFinite, (-180.0...180.0).contains(longitude) else {
            throw APIValidationError(field: field + ".longitude", message: "must be between -180 and 180")
        }
    }
}
