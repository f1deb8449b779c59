import Foundation
import MovRAPI
import MovRRPC
import Testing

/// users.register, auth.login, auth.logout, users.me, users.delete through the gateway.
@Suite struct AccountsTests {
    @Test func registerLoginMeLogout() async throws {
        let domain = try await Domain.connect()
        let username = Domain.uniqueName("acct")
        let registered = try await domain.call(
            "users.register",
            UsersRegisterParams(username: username, password: "s3cret-passw0rd", email: "\(username)@example.com",
                                firstName: "Ada", lastName: "Lovelace", city: "Paris"),
            as: UserResult.self)
        #expect(registered.user.city == "paris")
        #expect(registered.user.region == "europe-west1")
        let login = try await domain.call("auth.login", AuthLoginParams(username: username, password: "s3cret-passw0rd"),
                                          as: AuthLoginResult.self)
        #expect(login.token.count >= 43)
        #expect(login.expiresAt > Date())
        let me = try await domain.call("users.me", EmptyObject(), as: UserResult.self,
                                       as: SignedInUser(user: login.user, token: login.token, password: ""))
        #expect(me.user == registered.user)
        let session = SignedInUser(user: login.user, token: login.token, password: "")
        _ = try await domain.call("auth.logout", EmptyObject(), as: EmptyObject.self, as: session)
        await expectRPCError(401) { try await domain.call("users.me", EmptyObject(), as: UserResult.self, as: session) }
        try await domain.expectInvariants()
        await domain.shutdown()
    }

    @Test func registrationErrors() async throws {
        let domain = try await Domain.connect()
        let taken = try await domain.newUser()
        await expectRPCError(409, reason: "username_taken") {
            try await domain.call("users.register",
                                  UsersRegisterParams(username: taken.user.username, password: "another-password",
                                                      email: "x@example.com", firstName: "X", lastName: "Y", city: "rome"),
                                  as: UserResult.self)
        }
        await expectRPCError(-32602, reason: "unknown_city", field: "city") {
            try await domain.call("users.register",
                                  UsersRegisterParams(username: Domain.uniqueName("nowhere"), password: "a-long-password",
                                                      email: "n@example.com", firstName: "N", lastName: "W", city: "atlantis"),
                                  as: UserResult.self)
        }
        await expectRPCError(-32602, field: "email") {
            try await domain.call("users.register",
                                  UsersRegisterParams(username: Domain.uniqueName("mail"), password: "a-long-password",
                                                      email: "not-an-email", firstName: "N", lastName: "W", city: "rome"),
                                  as: UserResult.self)
        }
        await expectRPCError(-32602, field: "password") {
            try await domain.call("users.register",
                                  UsersRegisterParams(username: Domain.uniqueName("short"), password: "short",
                                                      email: "s@example.com", firstName: "N", lastName: "W", city: "rome"),
                                  as: UserResult.self)
        }
        await domain.shutdown()
    }

    @Test func loginFailuresDoNotRevealWhichUsernamesExist() async throws {
        let domain = try await Domain.connect()
        let user = try await domain.newUser()
        var messages: [String] = []
        for username in [user.user.username, Domain.uniqueName("ghost")] {
            do {
                _ = try await domain.call("auth.login", AuthLoginParams(username: username, password: "wrong-password"),
                                          as: AuthLoginResult.self)
                Issue.record("login with a wrong password succeeded")
            } catch let error as RPCError {
                #expect(error.code == 401 && error.data?.reason == "invalid_credentials")
                messages.append(error.message)
            }
        }
        #expect(messages.count == 2 && messages[0] == messages[1])
        await domain.shutdown()
    }

    @Test func repeatedFailedLoginsAreRateLimited() async throws {
        let domain = try await Domain.connect()
        let user = try await domain.newUser()
        var codes: [Int] = []
        for _ in 0..<7 {
            do {
                _ = try await domain.call("auth.login", AuthLoginParams(username: user.user.username, password: "guess-guess"),
                                          as: AuthLoginResult.self)
            } catch let error as RPCError {
                codes.append(error.code)
            }
        }
        #expect(codes.prefix(5).allSatisfy { $0 == 401 })
        #expect(codes.last == 429)
        // Even the right password is refused while the username is locked.
        await expectRPCError(429, reason: "too_many_attempts") {
            try await domain.call("auth.login", AuthLoginParams(username: user.user.username, password: user.password),
                                  as: AuthLoginResult.self)
        }
        await domain.shutdown()
    }

    /// Sign-in throttles are per users process, so per region. Decided and documented
    /// (docs/API.md, "auth.login"): a client that hops regions gets each region's free failures
    /// (5 per pair here), then each region's own doubling backoff; this shows that bound.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil,
                   "needs each region's own gateway; a composed stack is reached through one load balancer"))
    func aClientHoppingRegionsGetsEachRegionsFreeFailuresAndNoMore() async throws {
        let east = try await Domain.connect(region: "us-east1")
        let west = try await Domain.connect(region: "europe-west1")
        let user = try await east.newUser()
        func guesses(_ domain: Domain, count: Int) async -> [String] {
            var outcomes: [String] = []
            for _ in 0..<count {
                do {
                    _ = try await domain.call("auth.login", AuthLoginParams(username: user.user.username, password: "guess-guess"),
                                              as: AuthLoginResult.self)
                    outcomes.append("ok")
                } catch let error as RPCError {
                    outcomes.append("\(error.code) \(error.data?.reason ?? "-")")
                } catch {
                    outcomes.append("\(error)")
                }
            }
            return outcomes
        }
        // Each refusal is answered within the pair's one-second wait from the previous failure;
        // a test process stalled longer than that gets one more (counted) guess, so look for
        // the refusal within the next three.
        let first = await guesses(east, count: 8)
        #expect(first.prefix(5).allSatisfy { $0 == "401 invalid_credentials" }, "\(first)")
        #expect(first.dropFirst(5).contains("429 too_many_attempts"), "\(first)")
        let hopped = await guesses(west, count: 8)
        #expect(hopped.prefix(5).allSatisfy { $0 == "401 invalid_credentials" }, "\(hopped)")
        #expect(hopped.dropFirst(5).contains("429 too_many_attempts"), "\(hopped)")
        await east.shutdown()
        await west.shutdown()
    }

    /// Every public method the same way, as the method table says: params are decoded strictly
    /// and validated before anything else (no token needed to learn that `{"bogus":1}` is not a
    /// request), then the table's access is enforced: a missing token is 401 for every method
    /// that needs one, a signed-in non-administrator is refused the administrators' methods.
    @Test func thePublicMethodTableDecidesValidationThenAccessForEveryMethod() async throws {
        let domain = try await Domain.connect()
        let user = try await domain.newUser()
        let id = UUID().uuidString.lowercased()
        let location: JSONValue = ["latitude": .number("40.7"), "longitude": .number("-74.0")]
        for method in PublicMethod.allCases {
            await expectRPCError(-32602) {
                try await domain.call(method.rawValue, ["bogus": 1] as JSONValue, as: JSONValue.self)
            }
            let valid: JSONValue = switch method {
            case .vehiclesRemove, .vehiclesLocationHistory, .ridesGet, .vehiclesGet: ["id": .string(id)]
            case .vehiclesAdd: ["type": "bike", "city": "new york", "location": location, "color": "red", "brand": "b"]
            case .ridesStart: ["vehicle_id": .string(id)]
            case .ridesUpdateLocation: ["ride_id": .string(id), "location": location]
            case .ridesEnd: ["ride_id": .string(id), "location": location]
            case .promoCodesCreate: ["code": "NOPE", "description": "d", "percent_off": 5, "expires_at": "2030-01-01T00:00:00Z"]
            case .promoCodesApply: ["code": "NOPE"]
            default: [:]
            }
            switch method.access {
            case .anyone:
                continue
            case .bearerToken, .signedIn:
                await expectRPCError(401, reason: "missing_token") {
                    try await domain.call(method.rawValue, valid, as: JSONValue.self)
                }
            case .admin:
                await expectRPCError(401, reason: "missing_token") {
                    try await domain.call(method.rawValue, valid, as: JSONValue.self)
                }
                await expectRPCError(403, reason: "admin_required") {
                    try await domain.call(method.rawValue, valid, as: JSONValue.self, as: user)
                }
            }
        }
        await domain.shutdown()
    }

    @Test func tokensAreCheckedOnEveryAuthenticatedMethod() async throws {
        let domain = try await Domain.connect()
        await expectRPCError(401, reason: "missing_token") {
            try await domain.call("users.me", EmptyObject(), as: UserResult.self)
        }
        let forged = SignedInUser(user: try await domain.newUser().user, token: String(repeating: "A", count: 43), password: "")
        await expectRPCError(401) { try await domain.call("users.me", EmptyObject(), as: UserResult.self, as: forged) }
        await expectRPCError(401) {
            try await domain.call("rides.list", RidesListParams(), as: RidesListResult.self, as: forged)
        }
        await domain.shutdown()
    }

    @Test func softDeleteEndsAccessAndIsRefusedDuringARide() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser()
        let rider = try await domain.newUser()
        let vehicle = try await domain.newVehicle(owner: owner)
        let ride = try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id), as: RideResult.self,
                                         as: rider, city: "new york").ride
        await expectRPCError(409, reason: "active_ride_exists") {
            try await domain.call("users.delete", EmptyObject(), as: EmptyObject.self, as: rider)
        }
        _ = try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: Location(latitude: 40.7, longitude: -74)),
                                  as: RideResult.self, as: rider)
        _ = try await domain.call("users.delete", EmptyObject(), as: EmptyObject.self, as: rider)
        await expectRPCError(401) { try await domain.call("users.me", EmptyObject(), as: UserResult.self, as: rider) }
        await expectRPCError(401, reason: "invalid_credentials") {
            try await domain.call("auth.login", AuthLoginParams(username: rider.user.username, password: rider.password),
                                  as: AuthLoginResult.self)
        }
        try await domain.expectInvariants()
        await domain.shutdown()
    }

    /// The active-ride check before a delete sees rides of every region: a rider of New York
    /// (us-east1) riding in Rome (europe-west1) cannot delete the account through any gateway.
    /// The users service asks its own region's rides service, whose database holds every
    /// region's rides (REGIONAL BY ROW in CockroachDB), so no region is skipped.
    @Test func deleteIsRefusedDuringARideInAnotherRegion() async throws {
        let domain = try await Domain.connect()
        let owner = try await domain.newUser(city: "rome")
        let rider = try await domain.newUser(city: "new york")
        let vehicle = try await domain.newVehicle(owner: owner, city: "rome")
        #expect(vehicle.region == "europe-west1")
        let ride = try await domain.call("rides.start", RidesStartParams(vehicleID: vehicle.id), as: RideResult.self,
                                         as: rider, city: "rome").ride
        #expect(ride.region == "europe-west1")
        for region in ["us-east1", "europe-west1"] {
            let gateway = try await Domain.connect(region: region)
            await expectRPCError(409, reason: "active_ride_exists") {
                try await gateway.call("users.delete", EmptyObject(), as: EmptyObject.self, as: rider)
            }
            await gateway.shutdown()
        }
        _ = try await domain.call("rides.end", RidesEndParams(rideID: ride.id, location: Location(latitude: 41.9, longitude: 12.5)),
                                  as: RideResult.self, as: rider, city: "rome")
        _ = try await domain.call("users.delete", EmptyObject(), as: EmptyObject.self, as: rider)
        try await domain.expectInvariants()
        await domain.shutdown()
    }
}
