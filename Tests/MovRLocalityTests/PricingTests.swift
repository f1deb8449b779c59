import Foundation
import Testing
@testable import MovRLocality

@Suite("Pricing")
struct PricingTests {
    let pricing: PricingTable
    let start = Date(timeIntervalSince1970: 1_790_000_000.123456)

    init() throws { pricing = try TestConfig.defaultPricing() }

    func price(_ seconds: Double, type: String = "scooter", region: String = "us-east1",
               percentOff: Int = 0) throws -> Money {
        try pricing.price(vehicleType: type, region: region, startTime: start,
                          endTime: start.addingTimeInterval(seconds), percentOff: percentOff)
    }

    @Test func defaultPricingCoversEveryRegionInItsCurrency() throws {
        let locality = try TestConfig.defaultLocality()
        try pricing.validate(against: locality)
        #expect(pricing.regions.sorted() == locality.regions.map(\.name).sorted())
        for region in locality.regions {
            for type in ["scooter", "bike", "skateboard"] {
                #expect(try pricing.tariff(vehicleType: type, region: region.name).currency == region.currency)
            }
        }
    }

    @Test(arguments: [(0.0, 0), (0.4e-6, 0), (1.0, 1), (59.999, 1), (60.0, 1), (60.000001, 2), (61.0, 2),
                      (3600.0, 60), (3600.5, 61)])
    func startedMinutes(seconds: Double, minutes: Int) throws {
        #expect(try PricingTable.startedMinutes(from: start, to: start.addingTimeInterval(seconds)) == minutes)
    }

    @Test func rideExamplesInUSD() throws {
        #expect(try price(0) == Money(minorUnits: 100, currency: "USD"))  // unlock only
        #expect(try price(1) == Money(minorUnits: 125, currency: "USD"))
        #expect(try price(60) == Money(minorUnits: 125, currency: "USD"))
        #expect(try price(61) == Money(minorUnits: 150, currency: "USD"))
        #expect(try price(61, type: "bike").minorUnits == 130)
        #expect(try price(61, type: "Skateboard").minorUnits == 90)
        #expect(try price(600).decimalString == "3.50")
    }

    @Test func europeIsPricedInEUR() throws {
        let money = try price(61, region: "europe-west1")
        #expect(money == Money(minorUnits: 144, currency: "EUR"))
        #expect(money.decimalString == "1.44")
    }

    @Test func promoDiscountRoundsHalfUpToTheCent() throws {
        #expect(try price(61, percentOff: 100).decimalString == "0.00")
        #expect(try price(61, percentOff: 10).minorUnits == 135)  // 150 - 15
        // 125 x 10% = 12.5 -> 13 off (half up), 125 x 30% = 37.5 -> 38 off.
        #expect(try price(1, percentOff: 10).minorUnits == 112)
        #expect(try price(1, percentOff: 30).minorUnits == 87)
        // 125 x 33% = 41.25 -> 41 off.
        #expect(try price(1, percentOff: 33).minorUnits == 84)
        #expect(try price(0, percentOff: 50).minorUnits == 50)
    }

    @Test func invalidInputsAreErrors() throws {
        #expect(throws: PricingError.negativeDuration) { try price(-1) }
        #expect(throws: PricingError.invalidPercentOff(101)) { try price(60, percentOff: 101) }
        #expect(throws: PricingError.invalidPercentOff(-1)) { try price(60, percentOff: -1) }
        #expect(throws: PricingError.unknownVehicleType("hoverboard")) { try price(60, type: "hoverboard") }
        #expect(throws: PricingError.unknownRegion("mars-1")) { try price(60, region: "mars-1") }
    }

    @Test func hugeAmountsOverflowInsteadOfWrapping() throws {
        let table = try PricingTable(regions: ["x": ("USD", ["scooter": Tariff(unlockFee: 0, perMinute: Int.max / 2)])])
        #expect(throws: PricingError.overflow) {
            try table.price(vehicleType: "scooter", region: "x", startTime: start,
                            endTime: start.addingTimeInterval(180))
        }
    }

    @Test(arguments: [(0, "0.00"), (5, "0.05"), (99, "0.99"), (100, "1.00"), (1234, "12.34"),
                      (-5, "-0.05"), (-1234, "-12.34"), (100_000_07, "100000.07")])
    func decimalString(minorUnits: Int, expected: String) {
        #expect(Money(minorUnits: minorUnits, currency: "USD").decimalString == expected)
    }

    @Test func pricingFileValidation() throws {
        let negative = """
            {"regions": {"us-east1": {"currency": "USD",
              "vehicle_types": {"scooter": {"unlock_minor": -1, "per_minute_minor": 25}}}}}
            """
        #expect(throws: PricingError.self) {
            try TestConfig.withTemporaryFile(negative) { path in try PricingTable.load(from: path) }
        }
        let missingRate = """
            {"regions": {"us-east1": {"currency": "USD", "vehicle_types": {"scooter": {"unlock_minor": 1}}}}}
            """
        let error = #expect(throws: PricingError.self) {
            try TestConfig.withTemporaryFile(missingRate) { path in try PricingTable.load(from: path) }
        }
        guard case .configuration(.invalidConfiguration(_, let reason)) = error else {
            Issue.record("expected invalidConfiguration, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("per_minute_minor"))
        let euroInUS = """
            {"regions": {"us-east1": {"currency": "EUR",
              "vehicle_types": {"scooter": {"unlock_minor": 1, "per_minute_minor": 1}}}}}
            """
        let table = try TestConfig.withTemporaryFile(euroInUS) { path in try PricingTable.load(from: path) }
        #expect(throws: PricingError.self) { try table.validate(against: try TestConfig.defaultLocality()) }
    }
}
