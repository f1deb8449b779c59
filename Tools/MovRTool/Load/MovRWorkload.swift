import Foundation
import Logging
import MovRAPI
import MovRLocality
import MovRRPC

/// The MovR workload of `movr load run`: workers share the gateways and the accounts of
/// `movr load init` (each account belongs to exactly one worker, so its ride state is never
/// raced), and draw operations from a ``LoadMix``.
public struct MovRWorkload: LoadWorkload {
    public struct Options: Sendable {
        public var mix = LoadMix.standard
        /// Cities to load (default: every city of the users file).
        public var cities: [String]?
        /// Send everything through this region's gateway (default: each city's own region).
        public var via: String?
        /// Leave rides that are still active at the end (default: end them, unmeasured).
        public var keepRides = false
        /// Journal of acknowledged writes (`--ack-log`), for `movr load verify`.
        public var ackJournal: AckJournal?
        public init() {}
    }

    /// Answers the workload provokes by design: racing workers take the same vehicle, and the
    /// users service throttles sign-ins above 50/s per process.
    /// Shed sign-ins and registrations (`503 overloaded`: the hashing queue is full) are the users
    /// service protecting itself when the load asks for more password hashes than it has cores for.
    static let expectedOutcomes: Set<String> = ["rides.start 409 vehicle_unavailable", "auth.login 429 too_many_attempts",
                                                "auth.login 503 overloaded", "users.register 503 overloaded"]

    let gateways: LoadGateways
    let locality: Locality
    let cities: [City]
    let accounts: [LoadUsersFile.Account]
    let password: String
    let prefix: String
    let runTag: String
    let adminToken: String?
    let mix: LoadMix
    let keepRides: Bool
    let ackJournal: AckJournal?
    public let notes: [String]

    /// Connects to the stack's gateways and signs the admin account in (if the users file has
    /// one); without an admin, promo_codes.create leaves the mix and a note says so.
    public static func prepare(stack: StackFile, users: LoadUsersFile, options: Options, concurrency: Int,
                               logger: Logger) async throws -> MovRWorkload {
        let locality = try Locality.loadDefault()
        let cities = try locality.loadCities(options.cities ?? Self.cities(of: users, in: locality))
        let names = Set(cities.map(\.name))
        let gateways = try LoadGateways(stack: stack, cities: cities, via: options.via, maxConnections: concurrency,
                                        logger: logger)
        var notes: [String] = []
        var mix = options.mix
        var adminToken: String?
        if mix.weights[.promoCodesCreate] != nil {
            if let admin = users.accounts.first(where: { $0.role == .admin }) {
                do {
                    adminToken = try await gateways.client(for: admin.city).call(
                        "auth.login", AuthLoginParams(username: admin.username, password: users.password),
                        as: AuthLoginResult.self, city: admin.city).token
                } catch {
                    notes.append("promo_codes.create skipped: admin \(admin.username) could not sign in (\(LoadOutcome.kind(of: error)))")
                }
            } else {
                notes.append("promo_codes.create skipped: the users file has no admin (movr load init makes one when the stack file has the operator certificate)")
            }
            if adminToken == nil { mix = mix.removing(.promoCodesCreate) }
        }
        guard !mix.isEmpty else {
            await gateways.shutdown()
            throw StackError("the mix has no operation left to send")
        }
        return MovRWorkload(
            gateways: gateways, locality: locality, cities: cities,
            accounts: users.accounts.filter { $0.role != .admin && names.contains($0.city) },
            password: users.password, prefix: users.prefix, runTag: String(UUID().uuidString.prefix(4)).lowercased(),
            adminToken: adminToken, mix: mix, keepRides: options.keepRides, ackJournal: options.ackJournal,
            notes: notes)
    }

    private static func cities(of users: LoadUsersFile, in locality: Locality) -> [String] {
        let used = Set(users.accounts.map(\.city))
        return locality.cities.map(\.name).filter { used.contains($0) }
    }

    public func makeWorker(index: Int, of count: Int) -> MovRLoadWorker {
        let mine = accounts.enumerated().filter { $0.offset % max(1, count) == index }.map(\.element)
        return MovRLoadWorker(workload: self, index: index, accounts: mine)
    }

    public func prepare(concurrency: Int) async {
        await gateways.warm(connections: concurrency)
    }

    public func shutdown() async {
        await gateways.shutdown()
    }
}
