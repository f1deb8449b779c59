import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Spherical-earth formulas; a sphere is accurate to ~0.5%, plenty for picking a region or
/// scattering demo vehicles around a city.
enum Geodesy {
    static let earthRadiusKm = 6371.0088

    static func isValid(latitude: Double, longitude: Double) -> Bool {
        latitude.isFinite && longitude.isFinite
            && (-90.0...90.0).contains(latitude) && (-180.0...180.0).contains(longitude)
    }

    /// Haversine distance between two points in degrees.
    static func distanceKm(latitude1: Double, longitude1: Double,
                           latitude2: Double, longitude2: Double) -> Double {
        let phi1 = radians(latitude1), phi2 = radians(latitude2)
        let deltaPhi = radians(latitude2 - latitude1)
        let deltaLambda = radians(longitude2 - longitude1)
        let a = sin(deltaPhi / 2) * sin(deltaPhi / 2)
            + cos(phi1) * cos(phi2) * sin(deltaLambda / 2) * sin(deltaLambda / 2)
        // min() guards asin against a rounding overshoot past 1 for antipodal points.
        return 2 * earthRadiusKm * asin(min(1, sqrt(a)))
    }

    /// The point `distanceKm` away from a start point along an initial bearing (radians).
    static func destination(latitude: Double, longitude: Double,
                            bearing: Double, distanceKm: Double) -> (latitude: Double, longitude: Double) {
        let phi1 = radians(latitude), lambda1 = radians(longitude)
        let delta = distanceKm / earthRadiusKm
        let sinPhi2 = sin(phi1) * cos(delta) + cos(phi1) * sin(delta) * cos(bearing)
        let phi2 = asin(max(-1, min(1, sinPhi2)))
        let lambda2 = lambda1 + atan2(sin(bearing) * sin(delta) * cos(phi1),
                                      cos(delta) - sin(phi1) * sinPhi2)
        return (degrees(phi2), wrappedLongitude(degrees(lambda2)))
    }

    private static func wrappedLongitude(_ degrees: Double) -> Double {
        var value = (degrees + 180).truncatingRemainder(dividingBy: 360)
        if value < 0 { value += 360 }
        return value - 180
    }

    private static func radians(_ degrees: Double) -> Double { degrees * .pi / 180 }
    private static func degrees(_ radians: Double) -> Double { radians * 180 / .pi }
}
