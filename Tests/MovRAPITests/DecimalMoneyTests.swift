import Testing

@testable import MovRAPI

@Suite("Decimal money strings")
struct DecimalMoneyTests {
    @Test func formatsTwoPlaces() {
        #expect(DecimalMoney.string(cents: 0) == "0.00")
        #expect(DecimalMoney.string(cents: 5) == "0.05")
        #expect(DecimalMoney.string(cents: 1250) == "12.50")
        #expect(DecimalMoney.string(cents: -5) == "-0.05")
        #expect(DecimalMoney.string(cents: .min) == "-92233720368547758.08")
    }

    @Test func parsesOnlyTheExactShape() {
        #expect(DecimalMoney.cents("12.50") == 1250)
        #expect(DecimalMoney.cents("-0.05") == -5)
        #expect(DecimalMoney.cents("0.00") == 0)
        for bad in ["12.5", "12", ".50", "12.505", "1,50", "+1.00", "1.0a", "", "-", "92233720368547758.08"] {
            #expect(DecimalMoney.cents(bad) == nil, "\(bad)")
        }
    }
}
