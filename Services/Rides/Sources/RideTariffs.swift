import FoundationEssentials
import MovRAPI
import MovRPostgres

/// The pricing table in the shape the end-ride statement reads it, so the price is computed in
/// the same round trip that closes the ride.
///
/// The fare is computed only by that statement (`RidesStore.endRide`: integer minor units,
/// started minutes from the microsecond duration, discount rounded half up, never below zero);
/// Swift keeps the table and the currency lookup. `RidePricingTests` check the statement's fares
/// against hand-computed ones on a real PostgreSQL.
public struct RideTariffs: Sendable {
    public let pricing: PricingTable
    /// `{"region": {"vehicle type": {"unlock": minor, "per_minute": minor}}}`.
    let document: PostgresJSON

    public init(pricing: PricingTable) throws {
        self.pricing = pricing
        var regions: [String: [String: [String: Int]]] = [:]
        for region in pricing.regions {
            for type in VehicleType.allCases {
                guard let (tariff, _) = try? pricing.tariff(vehicleType: type.rawValue, region: region) else { continue }
                regions[region, default: [:]][type.rawValue] = ["unlock": tariff.unlockFee, "per_minute": tariff.perMinute]
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        document = try PostgresJSON(encoding: regions, encoder: encoder)
    }

    /// The currency a ride of `vehicleType` in `region` is charged in; throws when unpriced.
    public func currency(vehicleType: String, region: String) throws(PricingError) -> String {
        try pricing.tariff(vehicleType: vehicleType, region: region).currency
    }
}
