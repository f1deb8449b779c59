import Foundation

/// The operations `movr load run` sends, named after the public methods they call.
public enum LoadOperation: String, CaseIterable, Codable, Sendable, Comparable {
    case vehiclesList = "vehicles.list"
    case vehiclesGet = "vehicles.get"
    case ridesList = "rides.list"
    case promoCodesList = "promo_codes.list"
    case usersMe = "users.me"
    case usersRegister = "users.register"
    case vehiclesAdd = "vehicles.add"
    case ridesStart = "rides.start"
    case ridesUpdateLocation = "rides.update_location"
    case ridesEnd = "rides.end"
    case promoCodesApply = "promo_codes.apply"
    case promoCodesCreate = "promo_codes.create"
    /// Never drawn from the mix: a worker signs a user in when an operation needs them.
    case authLogin = "auth.login"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Relative weights of the operations a worker draws from.
public struct LoadMix: Sendable, Equatable, CustomStringConvertible {
    public private(set) var weights: [LoadOperation: Double]

    /// Whether an operation of the mix picks one of the vehicles `vehicles.list` returned:
    /// `vehicles.get`, and every ride operation (each starts a ride when its rider has none).
    public var usesListedVehicles: Bool {
        [LoadOperation.vehiclesGet, .ridesStart, .ridesUpdateLocation, .ridesEnd].contains { (weights[$0] ?? 0) > 0 }
    }

    /// The MovR mix: 95 % reads, 5 % writes, so rides start, move and end all the time while
    /// most traffic is people browsing vehicles. Percentages of all drawn operations. Codes
    /// created live 5 minutes, and promo_codes.list returns every live one: a higher create
    /// weight would make that read grow during a run.
    public static let standard = LoadMix(checked: [
        .vehiclesList: 40, .vehiclesGet: 20, .ridesList: 15, .promoCodesList: 10, .usersMe: 10,  // 95 reads
        .usersRegister: 0.2, .vehiclesAdd: 0.2, .ridesStart: 1.3, .ridesUpdateLocation: 1.6,
        .ridesEnd: 1.3, .promoCodesApply: 0.35, .promoCodesCreate: 0.05,                        // 5 writes
    ])

    private init(checked weights: [LoadOperation: Double]) {
        self.weights = weights
    }

    /// Parses `NAME=WEIGHT,...`; operations not named get weight 0. Weights are non-negative
    /// numbers, at least one positive.
    public init(parsing text: String) throws(LoadMixError) {
        var weights: [LoadOperation: Double] = [:]
        let drawable = LoadOperation.allCases.filter { $0 != .authLogin }
        for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = entry.split(separator: "=", omittingEmptySubsequences: false)
            let name = parts.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard parts.count == 2 else {
                throw LoadMixError("'\(entry)' is not NAME=WEIGHT (e.g. vehicles.list=90,rides.start=10)")
            }
            guard let operation = LoadOperation(rawValue: name), operation != .authLogin else {
                throw LoadMixError("unknown operation '\(name)'; known: \(drawable.map(\.rawValue).joined(separator: ", "))")
            }
            guard weights[operation] == nil else { throw LoadMixError("'\(name)' is given twice") }
            let weightText = parts[1].trimmingCharacters(in: .whitespaces)
            guard let weight = Double(weightText), weight.isFinite, weight >= 0 else {
                throw LoadMixError("weight of '\(name)' must be a non-negative number, not '\(weightText)'")
            }
            weights[operation] = weight
        }
        guard weights.values.contains(where: { $0 > 0 }) else {
            throw LoadMixError("at least one operation needs a positive weight")
        }
        self.init(checked: weights.filter { $0.value > 0 })
    }

    /// The same mix without `operation` (e.g. promo_codes.create when no admin is available).
    public func removing(_ operation: LoadOperation) -> LoadMix {
        var copy = self
        copy.weights[operation] = nil
        return copy
    }

    public var isEmpty: Bool { weights.isEmpty }

    /// Draws an operation with probability proportional to its weight.
    public func draw(using generator: inout some RandomNumberGenerator) -> LoadOperation {
        let ordered = weights.sorted { $0.key < $1.key }
        let total = ordered.reduce(0) { $0 + $1.value }
        guard total > 0 else { return .vehiclesList }
        var point = Double.random(in: 0..<total, using: &generator)
        for (operation, weight) in ordered {
            if point < weight { return operation }
            point -= weight
        }
        return ordered.last?.key ?? .vehiclesList
    }

    /// `name=weight,...` in a stable order, as `--mix` takes it.
    public var description: String {
        weights.sorted { $0.key < $1.key }
            .map { "\($0.key.rawValue)=\(String(format: "%g", $0.value))" }.joined(separator: ",")
    }
}

public struct LoadMixError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = "--mix: " + description }
}
