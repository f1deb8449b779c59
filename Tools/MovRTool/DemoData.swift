import Foundation
import Logging
import MovRAPI
import MovRInternalAPI
import MovRLocality
import MovRRPC

/// Demo data loaded by `movr up` (and `movr seed`) through the public API, so it passes every
/// check a real client's data passes: per city, riders and a fleet owner, 50+ available vehicles
/// of every type spread inside the city, past rides with revenue, and active promo codes.
public struct DemoData: Sendable {
    /// Password of every demo account (they exist for trying the system, nothing else).
    public static let demoPassword = "movr-demo-2026"
    public static let adminUsername = "demo_admin"
    public var vehiclesPerCity = 52
    public var ridersPerCity = 3
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    static func slug(_ city: String) -> String {
        String(city.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.map(Character.init))
    }

    /// Seeds unless the primary region's first city already has vehicles.
    public func seed(gatewayURL: String, caPath: String, usersURL: String, operatorCertificate: (String, String),
                     locality: Locality) async throws {
        let api = try PublicClient(url: gatewayURL, caPath: caPath, logger: logger)
        let users = try PublicClient(url: usersURL, serverName: "users.movr.internal", caPath: caPath,
                                     clientCertificate: operatorCertificate, logger: logger)
        do {
            try await seed(api: api, users: users, locality: locality)
        } catch {
            await api.shutdown()
            await users.shutdown()
            throw error
        }
        await api.shutdown()
        await users.shutdown()
    }

    private func seed(api: PublicClient, users: PublicClient, locality: Locality) async throws {
        guard let firstCity = locality.cities.first?.name else { return }
        let existing = try await api.call("vehicles.list", VehiclesListParams(city: firstCity, limit: 1),
                                          as: VehiclesListResult.self)
        if !existing.vehicles.isEmpty {
            logger.info("demo data already present")
            return
        }
        Console.line("loading demo data for \(locality.cities.count) cities...")

        // An administrator, who creates the promo codes (roles are read on every session lookup,
        // so the token from before the grant carries the new role).
        let adminToken = try await registerAndLogin(api, username: Self.adminUsername, city: firstCity).token
        _ = try await users.call(InternalMethod.Users.grantRole,
                                 GrantRoleParams(username: Self.adminUsername, role: "admin"), as: UserResult.self)
        let codes = [("WELCOME10", 10, "10% off your next ride"), ("RIDE25", 25, "25% off one ride"),
                     ("HALFOFF", 50, "half price, this month only")]
        for (code, percent, description) in codes {
            let expires = RFC3339.string(from: Date().addingTimeInterval(Double(percent == 50 ? 30 : 365) * 86_400))
            _ = try await api.call("promo_codes.create",
                                   PromoCodesCreateParams(code: code, description: description, percentOff: percent,
                                                          expiresAt: expires),
                                   as: PromoCodeResult.self, token: adminToken, idempotent: true)
        }

        // A few cities at a time: each registers accounts (a password hash each), and the users
        // service sheds hashes beyond what it can do within its queue bound (503 overloaded,
        // retried here); twelve cities at once on a busy machine would mostly wait and retry.
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for (index, city) in locality.cities.enumerated() {
                if inFlight == Self.citiesAtOnce {
                    try await group.next()
                    inFlight -= 1
                }
                group.addTask { try await seedCity(api, city: city, index: index, locality: locality) }
                inFlight += 1
            }
            try await group.waitForAll()
        }
        Console.line("demo data loaded: demo accounts demo_<city>_<n> and demo_admin, password \(Self.demoPassword)")
    }

    static let citiesAtOnce = 3

    private func seedCity(_ api: PublicClient, city: City, index: Int, locality: Locality) async throws {
        var random = SeededGenerator(seed: UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
        let slug = Self.slug(city.name)
        let ownerToken = try await registerAndLogin(api, username: "demo_\(slug)_fleet", city: city.name).token
        let types: [VehicleType] = [.scooter, .bike, .skateboard]
        let colors = ["red", "blue", "green", "black", "white", "yellow", "orange"]
        let brands = ["Movr", "Swift", "Lime", "Voltra", "Cityhop"]
        var vehicleIDs: [UUID] = []
        for number in 0..<vehiclesPerCity {
            let point = locality.randomPoint(in: city, using: &random)
            let params = VehiclesAddParams(
                type: types[number % types.count], city: city.name,
                location: Location(latitude: point.latitude, longitude: point.longitude),
                color: colors[Int(random.next() % UInt64(colors.count))],
                brand: brands[Int(random.next() % UInt64(brands.count))],
                battery: 20 + Int(random.next() % 81),
                idempotencyKey: "demo-\(slug)-\(number)")
            let added = try await api.call("vehicles.add", params, as: VehicleResult.self, token: ownerToken,
                                           idempotent: true)
            vehicleIDs.append(added.vehicle.id)
        }
        // Riders with a ride or two behind them; some with a promo code applied first.
        for rider in 0..<ridersPerCity {
            let token = try await registerAndLogin(api, username: "demo_\(slug)_\(rider + 1)", city: city.name).token
            if rider == 0 {
                _ = try await api.call("promo_codes.apply", PromoCodesApplyParams(code: "WELCOME10"),
                                       as: UserPromoCodeResult.self, token: token, idempotent: true)
            }
            for trip in 0..<2 {
                let vehicle = vehicleIDs[(rider * 2 + trip) % vehicleIDs.count]
                let started = try await api.call(
                    "rides.start", RidesStartParams(vehicleID: vehicle, idempotencyKey: "demo-\(slug)-\(rider)-\(trip)"),
                    as: RideResult.self, token: token, city: city.name, idempotent: true)
                guard started.ride.endTime == nil else { continue }
                let end = locality.randomPoint(in: city, using: &random)
                _ = try await api.call(
                    "rides.end",
                    RidesEndParams(rideID: started.ride.id, location: Location(latitude: end.latitude, longitude: end.longitude),
                                   battery: 15 + Int(random.next() % 80)),
                    as: RideResult.self, token: token, city: city.name)
            }
        }
    }

    private func registerAndLogin(_ api: PublicClient, username: String, city: String) async throws -> AuthLoginResult {
        do {
            _ = try await PublicClient.retryingWhenAsked {
                try await api.call("users.register",
                                   UsersRegisterParams(username: username, password: Self.demoPassword,
                                                       email: "\(username)@example.com", firstName: "Demo",
                                                       lastName: username.replacingOccurrences(of: "demo_", with: ""),
                                                       city: city),
                                   as: UserResult.self)
            }
        } catch let error as RPCError where error.data?.reason == "username_taken" {
            // A previous, interrupted seeding (or a retry whose first answer was lost) created it;
            // logging in below is all we need.
        }
        return try await PublicClient.retryingWhenAsked {
            try await api.call("auth.login", AuthLoginParams(username: username, password: Self.demoPassword),
                               as: AuthLoginResult.self)
        }
    }
}

/// SplitMix64: a small seeded generator so demo data is the same on every machine.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
