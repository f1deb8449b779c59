import MovRLocality

/// Why a ride has no tariff or the pricing file could not be used.
public enum PricingError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownRegion(String)
    case unknownVehicleType(String)
    /// The pricing file is missing, unreadable or invalid; wraps the locality config error.
    case configuration(LocalityError)

    /// Stable snake_case code for logs and API errors.
    public var reason: String {
        switch self {
        case .unknownRegion: "unknown_region"
        case .unknownVehicleType: "unknown_vehicle_type"
        case .configuration(let error): error.reason
        }
    }

    public var description: String {
        switch self {
        case .unknownRegion(let name): "no pricing for region \"\(name.prefix(80))\""
        case .unknownVehicleType(let name): "no pricing for vehicle type \"\(name.prefix(80))\""
        case .configuration(let error): error.description
        }
    }
}

/// The fee schedule of one vehicle type in one region, in minor units.
public struct Tariff: Sendable, Hashable {
    /// Charged once per ride.
    public var unlockFee: Int
    /// Charged per started minute.
    public var perMinute: Int

    public init(unlockFee: Int, perMinute: Int) {
        self.unlockFee = unlockFee
        self.perMinute = perMinute
    }
}

/// Ride tariffs per region and vehicle type, loaded from `config/pricing.json`: data only.
///
/// A fare is computed in one place, the end-ride statement (`RidesStore.endRide`, fed by
/// ``RideTariffs``): unlock fee + per-minute rate x started minutes, minus the promo percentage
/// rounded half up to the minor unit, never below zero. Pricing is a rule of the rides domain,
/// so the table lives here rather than with the locality facts (cities, regions).
public struct PricingTable: Sendable {
    /// Environment variable naming the pricing file; overrides the search of ``loadDefault()``.
    public static let configEnvironmentVariable = "MOVR_PRICING_CONFIG"

    private let currencies: [String: String]
    private let tariffs: [String: [String: Tariff]]
    private let source: String

    /// Region names that have prices.
    public var regions: [String] { currencies.keys.sorted() }

    /// Builds a validated table: region -> (currency, vehicle type -> tariff). Names are normalized.
    public init(regions: [String: (currency: String, tariffs: [String: Tariff])],
                source: String = "<memory>") throws(PricingError) {
        func invalid(_ reason: String) -> PricingError {
            .configuration(.invalidConfiguration(path: source, reason: reason))
        }
        var currencies: [String: String] = [:]
        var tariffs: [String: [String: Tariff]] = [:]
        guard !regions.isEmpty else { throw invalid("no regions") }
        for (rawRegion, entry) in regions.sorted(by: { $0.key < $1.key }) {
            let region = PlaceName.normalized(rawRegion)
            guard !region.isEmpty else { throw invalid("a region has an empty name") }
            guard currencies[region] == nil else { throw invalid("duplicate region \(region)") }
            guard entry.currency.count == 3, entry.currency.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
                throw invalid("region \(region): currency \"\(entry.currency)\" is not a 3-letter ISO 4217 code")
            }
            guard !entry.tariffs.isEmpty else { throw invalid("region \(region): no vehicle types") }
            var byType: [String: Tariff] = [:]
            for (rawType, tariff) in entry.tariffs {
                let type = PlaceName.normalized(rawType)
                guard !type.isEmpty else { throw invalid("region \(region): a vehicle type has an empty name") }
                guard byType[type] == nil else { throw invalid("region \(region): duplicate vehicle type \(type)") }
                guard tariff.unlockFee >= 0, tariff.perMinute >= 0 else {
                    throw invalid("region \(region), \(type): fees must not be negative")
                }
                byType[type] = tariff
            }
            currencies[region] = entry.currency
            tariffs[region] = byType
        }
        self.currencies = currencies
        self.tariffs = tariffs
        self.source = source
    }

    /// Loads and validates a pricing file.
    public static func load(from path: String) throws(PricingError) -> PricingTable {
        let file: PricingFile
        do {
            file = try ConfigFile.decode(PricingFile.self, from: path)
        } catch {
            throw .configuration(error)
        }
        return try PricingTable(
            regions: file.regions.mapValues { entry in
                (entry.currency, entry.vehicleTypes.mapValues {
                    Tariff(unlockFee: $0.unlockMinor, perMinute: $0.perMinuteMinor)
                })
            },
            source: path)
    }

    /// Loads `config/pricing.json` from `$MOVR_PRICING_CONFIG`, else the current directory,
    /// else the executable's directory or one of its ancestors.
    public static func loadDefault() throws(PricingError) -> PricingTable {
        let path: String
        do {
            path = try ConfigFile.locate(fileName: "pricing.json", environmentVariable: configEnvironmentVariable)
        } catch {
            throw .configuration(error)
        }
        return try load(from: path)
    }

    /// Checks that every region of the locality has prices in the region's own currency, so a
    /// mismatch between the two files fails at startup rather than at the end of a ride.
    public func validate(against locality: Locality) throws(PricingError) {
        for region in locality.regions {
            guard let currency = currencies[region.name] else {
                throw .configuration(.invalidConfiguration(
                    path: source, reason: "region \(region.name) has no prices"))
            }
            guard currency == region.currency else {
                throw .configuration(.invalidConfiguration(
                    path: source,
                    reason: "region \(region.name) is priced in \(currency) but uses \(region.currency)"))
            }
        }
    }

    /// The tariff for a vehicle type in a region.
    public func tariff(vehicleType: String, region: String) throws(PricingError) -> (tariff: Tariff, currency: String) {
        let regionName = PlaceName.normalized(region)
        guard let byType = tariffs[regionName], let currency = currencies[regionName] else {
            throw .unknownRegion(region)
        }
        guard let tariff = byType[PlaceName.normalized(vehicleType)] else {
            throw .unknownVehicleType(vehicleType)
        }
        return (tariff, currency)
    }
}

/// The on-disk shape of `pricing.json`.
private struct PricingFile: Decodable {
    struct RegionEntry: Decodable {
        struct TariffEntry: Decodable {
            var unlockMinor: Int
            var perMinuteMinor: Int

            enum CodingKeys: String, CodingKey {
                case unlockMinor = "unlock_minor"
                case perMinuteMinor = "per_minute_minor"
            }
        }

        var currency: String
        var vehicleTypes: [String: TariffEntry]

        enum CodingKeys: String, CodingKey {
            case currency
            case vehicleTypes = "vehicle_types"
        }
    }

    var regions: [String: RegionEntry]
}
