/// The city map, regions and inter-region latencies, loaded from `config/locality.json`.
///
/// Every executable loads the same file, so adding a city or a region is an edit of that file,
/// not of code. Instances are validated on construction and immutable afterwards.
public struct Locality: Sendable {
    /// All regions, in file order.
    public let regions: [Region]
    /// All cities, in file order, with normalized names.
    public let cities: [City]
    /// The region that holds global data and is the default home of the deployment.
    public let primaryRegion: String
    /// Round-trip time between two nodes of the same region.
    public let intraRegionLatencyMs: Int

    private let citiesByName: [String: City]
    private let regionsByName: [String: Region]
    private let latencies: [RegionPair: RegionLatency]

    /// A measured or estimated round trip between two distinct regions.
    public struct RegionLatency: Sendable, Hashable {
        /// Round-trip time in milliseconds.
        public var ms: Int
        /// True when the figure is a guess rather than a measurement.
        public var estimate: Bool

        public init(ms: Int, estimate: Bool) {
            self.ms = ms
            self.estimate = estimate
        }
    }

    /// Builds and validates a locality. Names are normalized; the latency table must cover every
    /// pair of distinct regions exactly once.
    ///
    /// - Throws: `LocalityError.invalidConfiguration` with `source` as the path and the first
    ///   problem found as the reason.
    public init(regions: [Region], cities: [City], primaryRegion: String,
                intraRegionLatencyMs: Int, latencies: [(String, String, RegionLatency)],
                source: String = "<memory>") throws(LocalityError) {
        func invalid(_ reason: String) -> LocalityError {
            .invalidConfiguration(path: source, reason: reason)
        }

        var regionsByName: [String: Region] = [:]
        var normalizedRegions: [Region] = []
        for region in regions {
            let name = PlaceName.normalized(region.name)
            guard !name.isEmpty else { throw invalid("a region has an empty name") }
            guard region.currency.count == 3, region.currency.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
                throw invalid("region \(name): currency \"\(region.currency)\" is not a 3-letter ISO 4217 code")
            }
            guard regionsByName[name] == nil else { throw invalid("duplicate region \(name)") }
            let normalized = Region(name: name, currency: region.currency)
            regionsByName[name] = normalized
            normalizedRegions.append(normalized)
        }
        guard !normalizedRegions.isEmpty else { throw invalid("no regions") }

        var citiesByName: [String: City] = [:]
        var normalizedCities: [City] = []
        for city in cities {
            let name = PlaceName.normalized(city.name)
            let region = PlaceName.normalized(city.region)
            guard !name.isEmpty else { throw invalid("a city has an empty name") }
            guard !name.contains(",") else {
                throw invalid("city \(name): a name must not contain a comma (X-Place is comma-separated)")
            }
            guard citiesByName[name] == nil else { throw invalid("duplicate city \(name)") }
            guard regionsByName[region] != nil else {
                throw invalid("city \(name): region \(region) is not in the region list")
            }
            guard city.latitude.isFinite, (-90.0...90.0).contains(city.latitude) else {
                throw invalid("city \(name): latitude \(city.latitude) is outside -90...90")
            }
            guard city.longitude.isFinite, (-180.0...180.0).contains(city.longitude) else {
                throw invalid("city \(name): longitude \(city.longitude) is outside -180...180")
            }
            guard city.radiusKm.isFinite, city.radiusKm > 0 else {
                throw invalid("city \(name): radius_km must be positive, got \(city.radiusKm)")
            }
            let normalized = City(name: name, region: region, latitude: city.latitude,
                                  longitude: city.longitude, radiusKm: city.radiusKm)
            citiesByName[name] = normalized
            normalizedCities.append(normalized)
        }
        guard !normalizedCities.isEmpty else { throw invalid("no cities") }

        let primary = PlaceName.normalized(primaryRegion)
        guard regionsByName[primary] != nil else {
            throw invalid("primary_region \(primary) is not in the region list")
        }
        guard intraRegionLatencyMs >= 0 else { throw invalid("intra_region_ms must not be negative") }

        var table: [RegionPair: RegionLatency] = [:]
        for (first, second, latency) in latencies {
            let a = PlaceName.normalized(first), b = PlaceName.normalized(second)
            for name in [a, b] where regionsByName[name] == nil {
                throw invalid("latency \(a) <-> \(b): region \(name) is not in the region list")
            }
            guard a != b else { throw invalid("latency \(a) <-> \(b): a region paired with itself") }
            guard latency.ms >= 0 else { throw invalid("latency \(a) <-> \(b): rtt_ms must not be negative") }
            let pair = RegionPair(a, b)
            guard table[pair] == nil else { throw invalid("latency \(a) <-> \(b) is listed twice") }
            table[pair] = latency
        }
        // A missing pair would leave the WAN simulator guessing; make the operator decide.
        for (index, a) in normalizedRegions.enumerated() {
            for b in normalizedRegions[(index + 1)...] where table[RegionPair(a.name, b.name)] == nil {
                throw invalid("missing latency between \(a.name) and \(b.name)")
            }
        }

        self.regions = normalizedRegions
        self.cities = normalizedCities
        self.primaryRegion = primary
        self.intraRegionLatencyMs = intraRegionLatencyMs
        self.citiesByName = citiesByName
        self.regionsByName = regionsByName
        self.latencies = table
    }

    /// The city with this name (normalized before lookup), or nil.
    public func city(named name: String) -> City? {
        citiesByName[PlaceName.normalized(name)]
    }

    /// The region with this name (normalized before lookup), or nil.
    public func region(named name: String) -> Region? {
        regionsByName[PlaceName.normalized(name)]
    }

    /// The name of the region a city is homed in.
    public func region(ofCity name: String) throws(LocalityError) -> String {
        guard let city = city(named: name) else { throw .unknownCity(name) }
        return city.region
    }

    /// The currency rides in a region are charged in.
    public func currency(ofRegion name: String) throws(LocalityError) -> String {
        guard let region = region(named: name) else { throw .unknownRegion(name) }
        return region.currency
    }

    /// The city whose center is closest to a point (great-circle distance).
    public func nearestCity(latitude: Double, longitude: Double) -> City {
        // `cities` is never empty (init rejects a configuration without cities); the loop needs
        // no unwrap either way.
        var best = cities[0]
        var bestDistance = best.distanceKm(toLatitude: latitude, longitude: longitude)
        for city in cities.dropFirst() {
            let distance = city.distanceKm(toLatitude: latitude, longitude: longitude)
            if distance < bestDistance { (best, bestDistance) = (city, distance) }
        }
        return best
    }

    /// Round-trip time between two regions; symmetric, and `intraRegionLatencyMs` within one.
    public func latency(from: String, to: String) throws(LocalityError) -> (ms: Int, estimate: Bool) {
        let a = PlaceName.normalized(from), b = PlaceName.normalized(to)
        guard regionsByName[a] != nil else { throw .unknownRegion(from) }
        guard regionsByName[b] != nil else { throw .unknownRegion(to) }
        if a == b { return (intraRegionLatencyMs, false) }
        // init guarantees every pair of known regions has an entry.
        guard let latency = latencies[RegionPair(a, b)] else { throw .unknownRegion(to) }
        return (latency.ms, latency.estimate)
    }

    /// A uniformly distributed point within `city.radiusKm` of the city center.
    public func randomPoint(in city: City, using generator: inout some RandomNumberGenerator)
        -> (latitude: Double, longitude: Double)
    {
        // sqrt makes the density uniform over the disc rather than crowded at the center; the
        // tiny shrink keeps floating-point error from landing a point just outside the radius.
        let distance = city.radiusKm * (1 - 1e-9) * Double.random(in: 0...1, using: &generator).squareRoot()
        let bearing = Double.random(in: 0..<(2 * .pi), using: &generator)
        return Geodesy.destination(latitude: city.latitude, longitude: city.longitude,
                                   bearing: bearing, distanceKm: distance)
    }
}

/// An unordered pair of region names, so a latency is stored once for both directions.
private struct RegionPair: Hashable {
    let low: String
    let high: String

    init(_ a: String, _ b: String) {
        (low, high) = a <= b ? (a, b) : (b, a)
    }
}
