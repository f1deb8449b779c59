import Foundation
import MovRAPI
import MovRRPC
import MovRTool
import Testing

/// The round-trip budget of docs/API.md ("Round trips"), checked call by call: every public
/// method is called once through a real gateway with `movr-cost`, and what each executable
/// reports (database statements, calls to other services) must equal the documented row. A
/// change that adds a statement or a hop fails here until the table (and the reason) is updated.
@Suite struct RoundTripBudgetTests {
    /// One row of the table: per executable, statements to its database and calls it made.
    struct Budget: Equatable, CustomStringConvertible {
        var costs: [String: (db: Int, calls: Int)]

        static func == (lhs: Budget, rhs: Budget) -> Bool {
            lhs.costs.count == rhs.costs.count
                && lhs.costs.allSatisfy { key, value in rhs.costs[key].map { $0 == value } ?? false }
        }

        var description: String {
            costs.keys.sorted().map { "\($0) db=\(costs[$0]!.db) calls=\(costs[$0]!.calls)" }.joined(separator: ", ")
        }
    }

    static let services = ["gateway", "users", "vehicles", "rides"]

    /// Reads the table under "## Round trips" in docs/API.md: `| method | gateway | users | vehicles | rides |`
    /// with cells `db/calls` (`–` for an executable the method does not reach).
    static func documentedBudgets() throws -> [String: Budget] {
        let text = try String(contentsOfFile: LocalStackHarness.repositoryRoot + "/docs/API.md", encoding: .utf8)
        guard let start = text.range(of: "\n## Round trips") else { throw HarnessError("docs/API.md has no Round trips section") }
        var budgets: [String: Budget] = [:]
        for line in text[start.upperBound...].split(separator: "\n") {
            if line.hasPrefix("## ") { break }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard line.hasPrefix("|"), cells.count == 5, cells[0].hasPrefix("`") else { continue }
            var budget = Budget(costs: [:])
            for (service, cell) in zip(services, cells.dropFirst()) where cell != "–" {
                let numbers = cell.split(separator: "/").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard numbers.count == 2 else { throw HarnessError("bad cell '\(cell)' in \(line)") }
                budget.costs[service] = (numbers[0], numbers[1])
            }
            budgets[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = budget
        }
        return budgets
    }

    /// Runs `body` (one public call) with accounting on and returns what each executable reported.
    static func measure<R>(_ body: () async throws -> R) async throws -> (R, Budget) {
        let cost = RequestCost(service: "client")
        let result = try await RequestCost.$current.withValue(cost) { try await body() }
        var budget = Budget(costs: [:])
        for entry in cost.entries where entry.service != "client" {
            budget.costs[entry.service] = (entry.statements, entry.calls)
        }
        return (result, budget)
    }

    @Test func everyPublicMethodStaysWithinItsDocumentedRoundTrips() async throws {
        let budgets = try Self.documentedBudgets()
        let domain = try await Domain.connect()
        var measured: [String: Budget] = [:]
        func record<R>(_ method: String, _ body: () async throws -> R) async throws -> R {
            let (result, budget) = try await Self.measure(body)
            measured[method] = budget
            return result
        }

        let admin = try await domain.newUser()
        try await domain.grantAdmin(admin)
        let username = Domain.uniqueName("rt")
        let password = "correct horse battery"
        _ = try await record("cities.list") { try await domain.call("cities.list", EmptyObject(), as: CitiesListResult.self) }
        // The two hashing methods may be shed (503 overloaded) while other tests sign in; the
        // budget is that of the attempt that went through (each attempt is its own record, so
        // these bypass Domain.call's own retry).
        _ = try await PublicClient.retryingWhenAsked {
            try await record("users.register") {
                try await domain.api.call("users.register",
                                      UsersRegisterParams(username: username, password: password, email: "\(username)@example.com",
                                                          firstName: "Round", lastName: "Trip", city: "new york"),
                                      as: UserResult.self)
            }
        }
        let login = try await PublicClient.retryingWhenAsked {
            try await record("auth.login") {
                try await domain.api.call("auth.login", AuthLoginParams(username: username, password: password),
                                          as: AuthLoginResult.self)
            }
        }
        let rider = SignedInUser(user: login.user, token: login.token, password: password)
        _ = try await record("users.me") { try await domain.call("users.me", EmptyObject(), as: UserResult.self, as: rider) }
        let vehicle = try await record("vehicles.add") {
            try await domain.call("vehicles.add",
                                  VehiclesAddParams(type: .scooter, city: "new york", location: Location(latitude: 40.75, longitude: -73.99),
                                                    color: "blue", brand: "Budget", battery: 80),
                                  as: VehicleResult.self, as: admin).vehicle
        }
        _ = try await record("vehicles.list") {
            try await domain.call("vehicles.list", VehiclesListParams(city: "new york"), as: VehiclesListResult.self)
        }
        _ = try await record("vehicles.mine") {
            try await domain.call("vehicles.mine", VehiclesMineParams(), as: VehiclesListResult.self, as: admin)
        }
        _ = try await record("vehicles.get") {
            try await domain.call("vehicles.get", VehiclesGetParams(id: vehicle.id), as: VehicleResult.self)
        }
        let code = "RT\(UUID().uuidString.prefix(6).uppercased())"
        _ = try await record("promo_codes.create") {
            try await domain.call("promo_codes.create",
                                  PromoCodesCreateParams(code: code, description: "budget", percentOff: 10,
                                                         expiresAt: Date().addingTimeInterval(3600)),
                                  as: PromoCodeResult.self, as: admin)
        }
        _ = try await record("promo_codes.list") {
            try await domain.call("promo_codes.list", EmptyObject(), as: PromoCodesListResult.self)
        }
        _ = try await record("promo_codes.apply") {
            try await domain.call("promo_codes.apply", PromoCodesApplyParams(code: code), as: UserPromoCodeResult.self, as: rider)
        }
        let ride = try await record("rides.start") {
            try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id), as: RideResult.self,
                                  as: rider, city: "new york").ride
        }
        _ = try await record("rides.update_location") {
            try await domain.call("rides.update_location",
                                  RidesUpdateLocationParams(rideID: ride.id, location: Location(latitude: 40.751, longitude: -73.991)),
                                  as: EmptyObject.self, as: rider)
        }
        _ = try await record("rides.end") {
            try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: Location(latitude: 40.752, longitude: -73.992)),
                                  as: RideResult.self, as: rider)
        }
        _ = try await record("rides.list") { try await domain.call("rides.list", RidesListParams(), as: RidesListResult.self, as: rider) }
        _ = try await record("rides.get") { try await domain.call("rides.get", RidesGetParams(id: ride.id), as: RideResult.self, as: rider) }
        _ = try await record("vehicles.location_history") {
            try await domain.call("vehicles.location_history", LocationHistoryParams(id: vehicle.id), as: LocationHistoryResult.self,
                                  as: admin)
        }
        _ = try await record("vehicles.remove") {
            try await domain.call("vehicles.remove", VehiclesRemoveParams(id: vehicle.id), as: VehicleResult.self, as: admin)
        }
        let second = try await domain.call("auth.login", AuthLoginParams(username: username, password: password), as: AuthLoginResult.self)
        _ = try await record("auth.logout") { try await domain.call("auth.logout", EmptyObject(), as: EmptyObject.self, as: rider) }
        _ = try await record("users.delete") {
            try await domain.call("users.delete", EmptyObject(), as: EmptyObject.self,
                                  as: SignedInUser(user: second.user, token: second.token, password: password))
        }

        for (method, budget) in measured.sorted(by: { $0.key < $1.key }) {
            #expect(budgets[method] == budget, "\(method): measured \(budget), documented \(budgets[method].map(\.description) ?? "nothing")")
        }
        #expect(Set(budgets.keys) == Set(measured.keys), "the table and the test cover different methods")
        await domain.shutdown()
    }

    @Test func costHeaderParsesWhatItWrites() {
        let cost = RequestCost(service: "gateway")
        cost.addStatement()
        cost.addCall(reply: "rides;db=2;calls=1, vehicles;db=1;calls=0")
        cost.addCall(reply: "vehicles;db=1;calls=0, junk;db=x")
        #expect(cost.headerValue == "gateway;db=1;calls=2, rides;db=2;calls=1, vehicles;db=2;calls=0")
        #expect(RequestCost.parse(cost.headerValue) == cost.entries)
    }
}
