import Foundation
import MovRAPI
import MovRLocality
import MovRRides
import Testing

/// Fares as the end-ride statement computes them (the only implementation of a fare) on a real
/// PostgreSQL, against fares worked out by hand from `testPricing`:
/// us-east1 (USD) scooter 1.00 + 0.25/min, bike 1.00 + 0.15/min, skateboard 0.50 + 0.20/min;
/// europe-west1 (EUR) scooter 1.00 + 0.22/min, bike 0.80 + 0.13/min.
@Suite("ride pricing")
struct RidePricingTests {
    struct FareCase: Sendable, CustomTestStringConvertible {
        /// How long before the end the ride starts; negative starts it in the future, which the
        /// statement ends at its start time (zero duration).
        var seconds: Double
        /// The started minutes that duration is worth (the setup checks the real duration).
        var startedMinutes: Int
        var type: String
        var region: String
        var percentOff: Int
        /// The fare, by hand.
        var revenue: String

        init(_ seconds: Double, _ startedMinutes: Int, _ type: String, _ region: String, percentOff: Int = 0,
             _ revenue: String) {
            (self.seconds, self.startedMinutes, self.type, self.region) = (seconds, startedMinutes, type, region)
            (self.percentOff, self.revenue) = (percentOff, revenue)
        }

        var currency: String { region == "europe-west1" ? "EUR" : "USD" }
        var testDescription: String { "\(type) \(region) \(seconds) s -\(percentOff) % = \(revenue)" }
    }

    // Durations keep seconds away from a minute's end, since the statement's now() comes a few
    // milliseconds after the setup's.
    @Test(arguments: [
        // Started minutes: zero duration is the unlock fee alone; any part of a minute is a minute.
        FareCase(-3600, 0, "scooter", "us-east1", "1.00"),
        FareCase(1, 1, "scooter", "us-east1", "1.25"),
        FareCase(50, 1, "scooter", "us-east1", "1.25"),
        FareCase(70, 2, "scooter", "us-east1", "1.50"),
        FareCase(630, 11, "scooter", "us-east1", "3.75"),
        FareCase(70, 2, "bike", "us-east1", "1.30"),
        FareCase(7170, 120, "skateboard", "us-east1", "24.50"),
        // Each currency: the fare is in the region's.
        FareCase(-3600, 0, "bike", "europe-west1", "0.80"),
        FareCase(70, 2, "scooter", "europe-west1", "1.44"),
        FareCase(3590, 60, "scooter", "europe-west1", "14.20"),
        FareCase(3610, 61, "bike", "europe-west1", "8.73"),
        // Discounts are rounded half up to the minor unit.
        FareCase(1, 1, "scooter", "us-east1", percentOff: 10, "1.12"),          // 1.25 - 0.125 -> 0.13
        FareCase(1, 1, "scooter", "us-east1", percentOff: 30, "0.87"),          // 1.25 - 0.375 -> 0.38
        FareCase(1, 1, "scooter", "us-east1", percentOff: 33, "0.84"),          // 1.25 - 0.4125 -> 0.41
        FareCase(30, 1, "bike", "us-east1", percentOff: 1, "1.14"),             // 1.15 - 0.0115 -> 0.01
        FareCase(70, 2, "scooter", "us-east1", percentOff: 10, "1.35"),         // 1.50 - 0.15
        FareCase(-3600, 0, "scooter", "us-east1", percentOff: 50, "0.50"),      // 1.00 - 0.50
        FareCase(12330, 206, "skateboard", "us-east1", percentOff: 7, "38.78"), // 41.70 - 2.919 -> 2.92
        FareCase(3590, 60, "scooter", "europe-west1", percentOff: 50, "7.10"),  // 14.20 - 7.10
        FareCase(7230, 121, "bike", "europe-west1", percentOff: 99, "0.17"),    // 16.53 - 16.3647 -> 16.36
        // Never below zero: a full discount leaves nothing to pay.
        FareCase(70, 2, "scooter", "us-east1", percentOff: 100, "0.00"),
        FareCase(-3600, 0, "bike", "europe-west1", percentOff: 100, "0.00"),
    ])
    func theStatementChargesTheHandComputedFare(_ fare: FareCase) async throws {
        try await withRidesStore { store async throws in
            let rider = UUID()
            if fare.percentOff > 0 {
                try await store.makePromo("P\(fare.percentOff)", percentOff: fare.percentOff)
                _ = try #require(try await store.applyPromoCode(userID: rider, code: "P\(fare.percentOff)"))
            }
            let ride = try await store.startForTest(newRide(rider: rider, type: fare.type, region: fare.region))
            try await store.backdate(rideID: ride.id, seconds: fare.seconds)
            let ended = try await store.endForTest(ride)

            // The setup, not the statement: the ride lasted what the case means.
            let elapsed = try #require(ended.ride.endTime).timeIntervalSince(ended.ride.startTime)
            if fare.startedMinutes == 0 {
                try #require(elapsed == 0, "a ride starting in the future ends at its start")
            } else {
                try #require(Double(fare.startedMinutes - 1) * 60 < elapsed && elapsed <= Double(fare.startedMinutes) * 60,
                             "ride lasted \(elapsed) s")
            }

            #expect(ended.ride.revenue == fare.revenue)
            #expect(ended.ride.currency == fare.currency)
            #expect(ended.percentOff == (fare.percentOff > 0 ? fare.percentOff : nil))
        }
    }

    // MARK: The tariff table (data and currency lookup; no arithmetic)

    static let configDirectory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config").path

    @Test func defaultPricingCoversEveryRegionInItsCurrency() throws {
        let pricing = try PricingTable.load(from: Self.configDirectory + "/pricing.json")
        let locality = try Locality.load(from: Self.configDirectory + "/locality.json")
        try pricing.validate(against: locality)
        #expect(pricing.regions.sorted() == locality.regions.map(\.name).sorted())
        let tariffs = try RideTariffs(pricing: pricing)
        for region in locality.regions {
            for type in VehicleType.allCases {
                #expect(try pricing.tariff(vehicleType: type.rawValue, region: region.name).currency == region.currency)
                #expect(try tariffs.currency(vehicleType: type.rawValue, region: region.name) == region.currency)
            }
        }
    }

    @Test func lookupsNormalizeNamesAndRefuseUnpricedRides() throws {
        let tariffs = try RideTariffs(pricing: testPricing)
        let (tariff, currency) = try testPricing.tariff(vehicleType: "Skateboard", region: " US-East1 ")
        #expect(tariff == Tariff(unlockFee: 50, perMinute: 20) && currency == "USD")
        #expect(try tariffs.currency(vehicleType: "bike", region: "europe-west1") == "EUR")
        #expect(throws: PricingError.unknownVehicleType("hoverboard")) {
            try tariffs.currency(vehicleType: "hoverboard", region: "us-east1")
        }
        #expect(throws: PricingError.unknownVehicleType("skateboard")) {
            try tariffs.currency(vehicleType: "skateboard", region: "europe-west1")
        }
        #expect(throws: PricingError.unknownRegion("mars-1")) { try tariffs.currency(vehicleType: "bike", region: "mars-1") }
    }

    @Test func invalidTablesAreRefused() throws {
        func table(_ currency: String, _ tariff: Tariff) throws -> PricingTable {
            try PricingTable(regions: ["us-east1": (currency, ["scooter": tariff])])
        }
        #expect(throws: PricingError.self) { try table("USD", Tariff(unlockFee: -1, perMinute: 25)) }
        #expect(throws: PricingError.self) { try table("USD", Tariff(unlockFee: 100, perMinute: -1)) }
        #expect(throws: PricingError.self) { try table("usd", Tariff(unlockFee: 100, perMinute: 25)) }
        #expect(throws: PricingError.self) { try PricingTable(regions: [:]) }
        #expect(throws: PricingError.self) { try PricingTable(regions: ["us-east1": ("USD", [:])]) }

        // Every region of the locality priced, in its own currency.
        let locality = try Locality.load(from: Self.configDirectory + "/locality.json")
        #expect(throws: PricingError.self) { try table("EUR", Tariff(unlockFee: 1, perMinute: 1)).validate(against: locality) }
        #expect(throws: PricingError.self) { try table("USD", Tariff(unlockFee: 1, perMinute: 1)).validate(against: locality) }
    }

    @Test func pricingFileErrorsNameTheProblem() throws {
        let missingRate = """
            {"regions": {"us-east1": {"currency": "USD", "vehicle_types": {"scooter": {"unlock_minor": 1}}}}}
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("movr-pricing-\(UUID()).json").path
        try missingRate.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: PricingError.self) { try PricingTable.load(from: path) }
        guard case .configuration(.invalidConfiguration(_, let reason)) = error else {
            Issue.record("expected invalidConfiguration, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("per_minute_minor"))
        #expect(error?.reason == "invalid_configuration")

        let missing = #expect(throws: PricingError.self) { try PricingTable.load(from: path + ".absent") }
        #expect(missing?.reason == "invalid_configuration")
    }
}
