/// A city served by MovR, homed in exactly one region.
public struct City: Sendable, Hashable {
    /// Normalized name (see ``PlaceName/normalized(_:)``), e.g. `new york`.
    public var name: String
    /// Name of the region that stores this city's data.
    public var region: String
    /// Latitude of the city center in degrees.
    public var latitude: Double
    /// Longitude of the city center in degrees.
    public var longitude: Double
    /// Radius around the center used for demo data and "near this city" decisions.
    public var radiusKm: Double

    public init(name: String, region: String, latitude: Double, longitude: Double, radiusKm: Double) {
        self.name = name
        self.region = region
        self.latitude = latitude
        self.longitude = longitude
        self.radiusKm = radiusKm
    }

    /// Great-circle distance from the city center to a point, in km.
    public func distanceKm(toLatitude latitude: Double, longitude: Double) -> Double {
        Geodesy.distanceKm(latitude1: self.latitude, longitude1: self.longitude,
                           latitude2: latitude, longitude2: longitude)
    }
}
