import Foundation
import Logging
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRTool
import Testing

/// A signed-in test user and the client they call through.
struct SignedInUser: Sendable {
    var user: User
    var token: String
    var password: String
}

/// Shared helpers of the domain tests: every call goes through a real gateway.
struct Domain: Sendable {
    let stack: StackFile
    let api: PublicClient
    static let logger = Logger(label: "movr.it")

    static func connect(region: String? = nil) async throws -> Domain {
        let stack = try await LocalStackHarness.shared.start()
        return Domain(stack: stack, api: try stack.gatewayClient(region: region, logger: logger))
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
    }

    /// One call; a password hash shed by a users service busy with other tests' sign-ins (`503
    /// overloaded`: nothing was done, nothing counted) is sent again, as a client would.
    func call<P: Encodable & Sendable, R: Decodable>(_ method: String, _ params: P, as: R.Type = R.self,
                                                     as user: SignedInUser? = nil, city: String? = nil) async throws -> R {
        try await retryingShedHashes {
            try await api.call(method, params, as: R.self, token: user?.token, city: city)
        }
    }

    /// Registers and signs in a fresh user (retrying politely if the login rate cap answers 429).
    func newUser(city: String = "new york", prefix: String = "it") async throws -> SignedInUser {
        let username = Self.uniqueName(prefix)
        let password = "correct horse \(UUID().uuidString.prefix(6))"
        // Like any polite client: a retryable answer (429, or 503 when the hashing queue is
        // full while other tests register too) is retried with backoff.
        _ = try await PublicClient.retryingWhenAsked {
            try await call("users.register",
                           UsersRegisterParams(username: username, password: password, email: "\(username)@example.com",
                                               firstName: "Test", lastName: "User", city: city),
                           as: UserResult.self)
        }
        let login = try await PublicClient.retryingWhenAsked {
            try await call("auth.login", AuthLoginParams(username: username, password: password), as: AuthLoginResult.self)
        }
        return SignedInUser(user: login.user, token: login.token, password: password)
    }

    /// Adds a vehicle owned by `owner` in `city`.
    func newVehicle(owner: SignedInUser, city: String = "new york", type: VehicleType = .scooter,
                    battery: Int = 90) async throws -> Vehicle {
        try await call("vehicles.add",
                       VehiclesAddParams(type: type, city: city, location: Location(latitude: 40.75, longitude: -73.99),
                                         color: "red", brand: "Test", battery: battery),
                       as: VehicleResult.self, as: owner).vehicle
    }

    /// A client presenting the operator certificate to `service`.
    func operatorClient(_ service: String) throws -> PublicClient {
        try stack.operatorClient(for: service == "users" ? .users : service == "vehicles" ? .vehicles : .rides,
                                 logger: Self.logger)
    }

    func grantAdmin(_ user: SignedInUser) async throws {
        let users = try operatorClient("users")
        _ = try await users.call("users.grant_role", GrantRoleParams(username: user.user.username, role: "admin"),
                                 as: UserResult.self)
        await users.shutdown()
    }

    /// docs/architecture.md §2's invariants across the three databases, allowing pending repairs `wait` to finish.
    func expectInvariants(wait: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let checker = InvariantChecker(superuserURL: stack.databaseURL, bound: .seconds(15), logger: Self.logger)
        let report = try await checker.check(wait: wait)
        #expect(report.isClean, "\(report)", sourceLocation: sourceLocation)
    }

    func shutdown() async {
        await api.shutdown()
    }
}

/// Expects `body` to fail with the JSON-RPC error `code` (and `reason`, when given).
func expectRPCError<T>(_ code: Int, reason: String? = nil, field: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation,
                       _ body: () async throws -> T) async {
    do {
        _ = try await body()
        Issue.record("expected error \(code) \(reason ?? ""), got success", sourceLocation: sourceLocation)
    } catch let error as RPCError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let reason { #expect(error.data?.reason == reason, "\(error)", sourceLocation: sourceLocation) }
        if let field { #expect(error.data?.field == field, "\(error)", sourceLocation: sourceLocation) }
        #expect(error.data?.requestID != nil, "errors carry the request id", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected RPCError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Runs `call` again while it is answered `503 overloaded` (a password hash shed: nothing was
/// done, nothing counted); any other answer, a 429 included, is the caller's to see.
func retryingShedHashes<T>(_ call: () async throws -> T) async throws -> T {
    var attempt = 0
    while true {
        attempt += 1
        do {
            return try await call()
        } catch let error as RPCError where error.data?.reason == "overloaded" && attempt < 100 {
            try await Task.sleep(for: .milliseconds(min(50 * attempt, 1_000)))
        }
    }
}
