/// An amount in the minor unit of its currency (cents), so arithmetic is exact.
public struct Money: Sendable, Hashable {
    /// Amount in minor units, e.g. 1234 for 12.34.
    public var minorUnits: Int
    /// ISO 4217 currency code, e.g. `USD`.
    public var currency: String

    public init(minorUnits: Int, currency: String) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// The amount with two decimal places, e.g. `"12.34"` or `"-0.05"`, as the API shows money.
    /// Both configured currencies (USD, EUR) have two minor digits.
    public var decimalString: String {
        let magnitude = minorUnits.magnitude
        let cents = magnitude % 100
        return "\(minorUnits < 0 ? "-" : "")\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }
}

extension Money: CustomStringConvertible {
    public var description: String { "\(decimalString) \(currency)" }
}
