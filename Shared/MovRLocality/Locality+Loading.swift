import FoundationEssentials

extension Locality {
    /// Environment variable naming the locality file; overrides the search of ``loadDefault()``.
    public static let configEnvironmentVariable = "MOVR_LOCALITY_CONFIG"

    /// Loads and validates a locality file.
    public static func load(from path: String) throws(LocalityError) -> Locality {
        let file = try ConfigFile.decode(LocalityFile.self, from: path)
        return try Locality(
            regions: file.regions.map { Region(name: $0.name, currency: $0.currency) },
            cities: file.cities.map {
                City(name: $0.name, region: $0.region, latitude: $0.latitude,
                     longitude: $0.longitude, radiusKm: $0.radiusKm)
            },
            primaryRegion: file.primaryRegion,
            intraRegionLatencyMs: file.latencies.intraRegionMs,
            latencies: try file.latencies.pairs.map { entry throws(LocalityError) in
                guard entry.regions.count == 2 else {
                    throw .invalidConfiguration(path: path, reason: "a latency pair must name exactly 2 regions")
                }
                return (entry.regions[0], entry.regions[1],
                        RegionLatency(ms: entry.rttMs, estimate: entry.estimate ?? false))
            },
            source: path)
    }

    /// Loads `config/locality.json` from `$MOVR_LOCALITY_CONFIG`, else the current directory,
    /// else the executable's directory or one of its ancestors.
    public static func loadDefault() throws(LocalityError) -> Locality {
        try load(from: ConfigFile.locate(fileName: "locality.json",
                                         environmentVariable: configEnvironmentVariable))
    }
}

/// The on-disk shape of `locality.json`; kept apart from the model so the file format can grow
/// (comments, sources, notes) without touching the API.
private struct LocalityFile: Decodable {
    struct RegionEntry: Decodable {
        var name: String
        var currency: String
    }

    struct CityEntry: Decodable {
        var name: String
        var region: String
        var latitude: Double
        var longitude: Double
        var radiusKm: Double

        enum CodingKeys: String, CodingKey {
            case name, region, latitude, longitude
            case radiusKm = "radius_km"
        }
    }

    struct Latencies: Decodable {
        struct Pair: Decodable {
            var regions: [String]
            var rttMs: Int
            var estimate: Bool?

            enum CodingKeys: String, CodingKey {
                case regions, estimate
                case rttMs = "rtt_ms"
            }
        }

        var intraRegionMs: Int
        var pairs: [Pair]

        enum CodingKeys: String, CodingKey {
            case pairs
            case intraRegionMs = "intra_region_ms"
        }
    }

    var primaryRegion: String
    var regions: [RegionEntry]
    var cities: [CityEntry]
    var latencies: Latencies

    enum CodingKeys: String, CodingKey {
        case regions, cities, latencies
        case primaryRegion = "primary_region"
    }
}
