/// A deployment region: its own gateway and services, and the home of the data of its cities.
public struct Region: Sendable, Hashable {
    /// Normalized name, e.g. `us-east1`.
    public var name: String
    /// ISO 4217 code of the currency rides in this region are charged in, e.g. `USD`.
    public var currency: String

    public init(name: String, currency: String) {
        self.name = name
        self.currency = currency
    }
}
