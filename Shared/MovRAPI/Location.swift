/// A point on Earth: `{"latitude": 40.7, "longitude": -74.0}`.
public struct Location: Codable, Sendable, Hashable {
    public var latitude: Double
    public var longitude: Double

    public init(latitude: Double, longitude: Double) {
        self.latitude = latitude
        self.longitude = longitude
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
