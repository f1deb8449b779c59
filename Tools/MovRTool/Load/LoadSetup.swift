import Foundation
import Logging
import MovRAPI
import MovRInternalAPI
import MovRLocality
import MovRRPC
import NIOConcurrencyHelpers

/// `movr load init`: creates the riders, fleet owners and vehicles a load run uses, through the
/// public API of each city's region, and records the accounts in a users file. Re-running with
/// the same file creates only what is missing: usernames come from the file's prefix (an
/// existing one answers `username_taken`) and vehicles carry idempotency keys derived from it.
public struct LoadSetup: Sendable {
    public struct Options: Sendable {
        public var vehiclesPerCity = 50
        public var usersPerCity = 50
        /// Fleet owners per city; vehicles are spread over them.
        public var fleetOwnersPerCity = 2
        public var cities: [String]?
        public var concurrency = 16
        public var usersFilePath = LoadUsersFile.defaultPath
        /// Start over with a new prefix instead of extending the users file.
        public var fresh = false
        public init() {}
    }

    public struct Summary: Sendable {
        public var users: LoadUsersFile
        public var accounts: Int
        public var vehicles: Int
        public var admin: String?
    }

    let stack: StackFile
    let options: Options
    let logger: Logger

    public init(stack: StackFile, options: Options, logger: Logger) {
        self.stack = stack
        self.options = options
        self.logger = logger
    }

    public func run() async throws -> Summary {
        let locality = try Locality.loadDefault()
        let cities = try locality.loadCities(options.cities)
        var file = options.fresh ? nil : try? LoadUsersFile.load(options.usersFilePath)
        if file == nil { file = LoadUsersFile.new() }
        guard var users = file else { throw StackError("no users file") }
        let gateways = try LoadGateways(stack: stack, cities: cities, maxConnections: options.concurrency, logger: logger)
        do {
            let summary = try await populate(&users, cities: cities, locality: locality, gateways: gateways)
            await gateways.shutdown()
            return summary
        } catch {
            await gateways.shutdown()
            throw error
        }
    }

    private func populate(_ users: inout LoadUsersFile, cities: [City], locality: Locality,
                          gateways: LoadGateways) async throws -> Summary {

        var wanted: [LoadUsersFile.Account] = []
        for city in cities {
            let slug = DemoData.slug(city.name)
            wanted += (1...max(1, options.fleetOwnersPerCity)).map {
                .init(username: "\(users.prefix)_\(slug)_f\($0)", city: city.name, role: .fleet)
            }
            wanted += (0..<max(0, options.usersPerCity)).map {
                .init(username: "\(users.prefix)_\(slug)_\($0 + 1)", city: city.name, role: .rider)
            }
        }
        guard let primaryCity = cities.first(where: { $0.region == stack.primaryRegion }) ?? cities.first else {
            throw StackError("no cities to set up")
        }
        let admin = LoadUsersFile.Account(username: "\(users.prefix)_admin", city: primaryCity.name, role: .admin)
        wanted.append(admin)

        // 1. Accounts (scrypt on the server makes this the slow part).
        let password = users.password
        let created = NIOLockedValueBox<[LoadUsersFile.Account]>([])
        let failedAccounts = await forEachConcurrently(wanted, limit: options.concurrency, label: "users") { account in
            let ok = await register(account, password: password, via: gateways)
            if ok { created.withLockedValue { $0.append(account) } }
            return ok
        }
        let registered = created.withLockedValue { $0 }
        let known = Set(users.accounts.map(\.username))
        users.accounts += registered.filter { !known.contains($0.username) }.sorted { $0.username < $1.username }
        try users.save(options.usersFilePath)

        // 2. Fleet owners sign in, then add the vehicles, spread over them.
        let owners = registered.filter { $0.role == .fleet }
        let tokens = NIOLockedValueBox<[String: String]>([:])
        let failedLogins = await forEachConcurrently(owners, limit: options.concurrency, label: "fleet sign-in") { owner in
            guard let token = await signIn(owner, password: password, via: gateways) else { return false }
            tokens.withLockedValue { $0[owner.username] = token }
            return true
        }
        var additions: [(city: City, number: Int, owner: String)] = []
        for city in cities {
            let cityOwners = owners.filter { $0.city == city.name }.map(\.username).sorted()
            guard !cityOwners.isEmpty else { continue }
            additions += (0..<max(0, options.vehiclesPerCity)).map { (city, $0, cityOwners[$0 % cityOwners.count]) }
        }
        let prefix = users.prefix
        let failedVehicles = await forEachConcurrently(additions.map { Addition(city: $0.city, number: $0.number, owner: $0.owner) },
                                                       limit: options.concurrency, label: "vehicles") { addition in
            guard let token = tokens.withLockedValue({ $0[addition.owner] }) else { return false }
            return await addVehicle(addition, prefix: prefix, token: token, via: gateways, locality: locality)
        }

        // 3. The admin may create promo codes; granting needs the operator certificate.
        var adminName: String?
        if registered.contains(admin) {
            do {
                let client = try stack.operatorClient(for: .users, logger: logger)
                _ = try await client.call(InternalMethod.Users.grantRole, GrantRoleParams(username: admin.username, role: "admin"),
                                          as: UserResult.self)
                await client.shutdown()
                adminName = admin.username
            } catch {
                Console.line("note: could not make \(admin.username) an admin (\(LoadOutcome.kind(of: error))); "
                    + "load run will skip promo_codes.create (movr grant-admin \(admin.username) fixes that)")
            }
        }
        let failed = failedAccounts + failedLogins + failedVehicles
        guard failed == 0 else {
            throw StackError("\(failed) requests failed (\(failedAccounts) accounts, \(failedLogins) sign-ins, "
                + "\(failedVehicles) vehicles); run movr load init again to finish (it creates only what is missing)")
        }
        return Summary(users: users, accounts: wanted.count, vehicles: additions.count, admin: adminName)
    }

    struct Addition: Sendable {
        var city: City
        var number: Int
        var owner: String
    }

    private func register(_ account: LoadUsersFile.Account, password: String, via gateways: LoadGateways) async -> Bool {
        let params = UsersRegisterParams(username: account.username, password: password,
                                         email: "\(account.username)@example.com", firstName: "Load",
                                         lastName: account.role.rawValue, city: account.city)
        return await retrying("users.register \(account.username)") {
            do {
                _ = try await gateways.client(for: account.city).call("users.register", params, as: UserResult.self,
                                                                     city: account.city)
            } catch let error as RPCError where error.data?.reason == "username_taken" {
                // Made by an earlier init with this file: nothing to do.
            }
        }
    }

    private func signIn(_ account: LoadUsersFile.Account, password: String, via gateways: LoadGateways) async -> String? {
        var token: String?
        let ok = await retrying("auth.login \(account.username)") {
            token = try await gateways.client(for: account.city).call(
                "auth.login", AuthLoginParams(username: account.username, password: password),
                as: AuthLoginResult.self, city: account.city).token
        }
        return ok ? token : nil
    }

    private func addVehicle(_ addition: Addition, prefix: String, token: String, via gateways: LoadGateways,
                            locality: Locality) async -> Bool {
        var random = SystemRandomNumberGenerator()
        let point = locality.randomPoint(in: addition.city, using: &random)
        let types = VehicleType.allCases
        let params = VehiclesAddParams(
            type: types[addition.number % types.count], city: addition.city.name,
            location: Location(latitude: point.latitude, longitude: point.longitude),
            color: ["red", "blue", "green", "black", "white"][addition.number % 5], brand: "Loadgen",
            battery: 40 + Int(random.next() % 61),
            idempotencyKey: "\(prefix)-\(DemoData.slug(addition.city.name))-\(addition.number)")
        return await retrying("vehicles.add \(addition.city.name) #\(addition.number)") {
            _ = try await gateways.client(for: addition.city.name).call(
                "vehicles.add", params, as: VehicleResult.self, token: token, city: addition.city.name, idempotent: true)
        }
    }

    /// Runs `body`, retrying what the API marks retryable (``PublicClient/retryingWhenAsked``);
    /// logs and returns false on a final failure.
    private func retrying(_ what: String, _ body: () async throws -> Void) async -> Bool {
        do {
            try await PublicClient.retryingWhenAsked(body)
            return true
        } catch {
            Console.error("\(what) failed: \(LoadOutcome.kind(of: error))")
            return false
        }
    }
}
