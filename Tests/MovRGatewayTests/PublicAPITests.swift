import Foundation
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import MovRService
import Testing
@testable import MovRGateway

/// The gateway's public dispatcher against in-process users, vehicles and rides services:
/// routing, authentication, validation, error pass-through, idempotent ids and write fences.
@Suite("gateway public API")
struct PublicAPITests {
    typealias Harness = GatewayHarness

    /// A UUID as sent (services' params write them in upper case, results in lower).
    func uuid(_ value: JSONValue?) -> UUID? {
        value?.stringValue.flatMap(UUID.init(uuidString:))
    }

    /// A valid params object per public method (ids are arbitrary; the stand-ins answer `{}`).
    static func sampleParams(_ method: PublicMethod) -> JSONValue {
        let id = "11111111-2222-4333-8444-555555555555"
        let location: JSONValue = ["latitude": .number("42.36"), "longitude": .number("-71.06")]
        return switch method {
        case .citiesList, .authLogout, .usersMe, .usersDelete, .promoCodesList: [:]
        case .usersRegister:
            ["username": "carol", "password": "long enough", "email": "c@example.com", "first_name": "C",
             "last_name": "D", "city": "paris"]
        case .authLogin: ["username": "carol", "password": "long enough"]
        case .vehiclesList: ["city": "boston", "limit": 5]
        case .vehiclesGet, .vehiclesRemove, .ridesGet: ["id": .string(id)]
        case .vehiclesMine: ["limit": 5]
        case .vehiclesAdd: ["type": "bike", "location": location, "color": "red", "brand": "b", "idempotency_key": "k"]
        case .vehiclesLocationHistory: ["id": .string(id), "limit": 3]
        case .ridesStart: ["vehicle_id": .string(id), "idempotency_key": "k"]
        case .ridesUpdateLocation: ["ride_id": .string(id), "location": location]
        case .ridesEnd: ["ride_id": .string(id), "location": location, "battery": 50]
        case .ridesList: ["active_only": true, "limit": 5]
        case .promoCodesCreate: ["code": "SPRING", "description": "d", "percent_off": 10, "expires_at": "2030-01-01T00:00:00Z"]
        case .promoCodesApply: ["code": "SPRING"]
        }
    }

    /// Every public method reaches its service with params the service's own dispatcher
    /// decodes (a member the contract does not know, or a missing one, would be -32602 there).
    @Test func everyPublicMethodSendsParamsItsServiceAccepts() async throws {
        try await Harness.with { gateway in
            for method in PublicMethod.allCases {
                gateway.services.reset()
                let reply = try await gateway.call(method.rawValue, Self.sampleParams(method), token: "admin-token",
                                                   headers: ["X-City": "boston"])
                #expect(reply.error == nil, "\(method.rawValue): \(String(describing: reply.error))")
                if method != .citiesList && method != .usersMe {
                    #expect(gateway.services.recorded.contains { $0.method != InternalMethod.Users.session },
                            "\(method.rawValue) called no service")
                }
            }
        }
    }

    /// The stand-ins hold the gateway to the contract: params of another shape than the
    /// service's params type are refused as the real service refuses them.
    @Test func standInsRefuseParamsTheContractDoesNotDescribe() async throws {
        let services = StandInServices()
        let vehicles = try services.connector(gatewayRegion: "us-east1")(.vehicles, nil)
        let options = RPCCallOptions(idempotent: true)
        await #expect(throws: RPCError.self) {
            _ = try await vehicles.callRaw(InternalMethod.Vehicles.list, params: ["town": "boston", "limit": 5] as JSONValue,
                                           options: options)
        }
        do {
            _ = try await vehicles.callRaw(InternalMethod.Vehicles.list, params: ["city": "boston"] as JSONValue, options: options)
            Issue.record("vehicles.list without a limit was accepted")
        } catch let error as RPCError {
            #expect(error.code == RPCError.Code.invalidParams && error.data?.field == "limit")
        }
        let listed = try await vehicles.callRaw(InternalMethod.Vehicles.list, params: ["city": "boston", "limit": 5] as JSONValue,
                                                options: options)
        #expect(try listed.parsed() == [:])
        #expect(services.recorded.map(\.method) == Array(repeating: InternalMethod.Vehicles.list, count: 3))
    }

    // MARK: Routing

    @Test func aCityIsServedByItsHomeRegionsService() async throws {
        try await Harness.with(region: "us-east1") { gateway in
            gateway.services.answer(InternalMethod.Vehicles.list) { params, _ in
                ["vehicles": [], "next_cursor": .string("from \((params as! InternalVehiclesListParams).city)")]
            }
            let paris = try await gateway.call("vehicles.list", ["limit": 3], headers: ["X-City": "paris"])
            let call = try #require(gateway.services.recorded(InternalMethod.Vehicles.list).last)
            #expect(call.service == .vehicles && call.region == "europe-west1")
            #expect(call.params == ["city": "paris", "limit": 3])
            // The service's result is handed over as it came.
            #expect(paris.result == ["vehicles": [], "next_cursor": "from paris"])
            #expect(paris.servedBy == "europe-west1")
            #expect(paris.header("server-timing").first?.hasPrefix("remote;desc=\"europe-west1 vehicles.list\"") == true)

            _ = try await gateway.call("vehicles.list", ["city": "boston"], headers: ["X-City": "paris"])
            let explicit = try #require(gateway.services.recorded(InternalMethod.Vehicles.list).last)
            #expect(explicit.region == "us-east1")
            #expect(explicit.params["city"] == "boston")
        }
    }

    @Test func withoutHomeRegionRoutingEveryCityIsServedLocally() async throws {
        try await Harness.with(region: "us-west1", configuration: ["home-region-routing": "false"]) { gateway in
            let reply = try await gateway.call("vehicles.list", [:], headers: ["X-City": "rome"])
            #expect(reply.error == nil)
            let call = try #require(gateway.services.recorded(InternalMethod.Vehicles.list).last)
            #expect(call.region == "us-west1")
            #expect(call.params["city"] == "rome")
            #expect(reply.servedBy == "us-west1")
        }
    }

    /// A home region the deployment has no address for is served by this region's service.
    @Test func aRegionWithoutServicesIsServedLocally() async throws {
        try await Harness.with(region: "us-east1") { gateway in
            gateway.services.makeUnreachable(region: "europe-west1")
            let reply = try await gateway.call("vehicles.list", [:], headers: ["X-City": "amsterdam"])
            #expect(reply.error == nil)
            let call = try #require(gateway.services.recorded(InternalMethod.Vehicles.list).last)
            #expect(call.region == "us-east1" && call.params["city"] == "amsterdam")
        }
    }

    /// A home region that cannot be reached: the request that finds it so is served here, and
    /// so is every request after it, without trying the region again; a background ping every
    /// 5 s asks whether it answers, and once it does, its cities go home again.
    @Test func aDownHomeRegionIsProbedInTheBackgroundNotByRequests() async throws {
        try await Harness.with(region: "us-east1") { gateway in
            func list() async throws -> String? {
                let reply = try await gateway.call("vehicles.list", [:], headers: ["X-City": "amsterdam"])
                #expect(reply.error == nil)
                return reply.servedBy
            }
            func tried(_ method: String) -> Int {
                gateway.services.unsentCalls.filter { $0.region == "europe-west1" && $0.method == method }.count
            }
            gateway.services.bringDown(region: "europe-west1")
            // `X-MovR-Region` names every region tried: the home one, then this one.
            #expect(try await list() == "europe-west1,us-east1")
            #expect(tried(InternalMethod.Vehicles.list) == 1, "the first request tries the home region once")
            #expect(try await list() == "us-east1")
            #expect(tried(InternalMethod.Vehicles.list) == 1, "later requests do not try it")
            // After the period a request is still served here; it only starts the probe.
            try await Task.sleep(for: .milliseconds(5_200))
            #expect(try await list() == "us-east1")
            for _ in 0..<100 where tried(InternalMethod.ping) == 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(tried(InternalMethod.ping) == 1)
            #expect(tried(InternalMethod.Vehicles.list) == 1)
            // The region answers again: the next probe finds it, and its cities go home.
            gateway.services.bringUp(region: "europe-west1")
            try await Task.sleep(for: .milliseconds(5_200))
            #expect(try await list() == "us-east1")
            let pinged = { gateway.services.recorded(InternalMethod.ping).contains { $0.region == "europe-west1" } }
            for _ in 0..<100 where !pinged() { try await Task.sleep(for: .milliseconds(20)) }
            #expect(pinged())
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await list() == "europe-west1")
        }
    }

    /// Without any location the gateway's region lists its first city.
    @Test func noLocationListsTheGatewayRegionsFirstCity() async throws {
        try await Harness.with(region: "us-central1") { gateway in
            _ = try await gateway.call("vehicles.list")
            let call = try #require(gateway.services.recorded(InternalMethod.Vehicles.list).last)
            #expect(call.region == "us-central1" && call.params["city"] == "chicago")
        }
    }

    @Test func writesGoToTheHomeRegionOfTheResolvedCity() async throws {
        try await Harness.with(region: "us-east1") { gateway in
            _ = try await gateway.call("vehicles.add", Self.sampleParams(.vehiclesAdd), token: "alice-token",
                                       headers: ["X-Place": "seattle,47.6,-122.3"])
            let add = try #require(gateway.services.recorded(InternalMethod.Vehicles.add).last)
            #expect(add.region == "us-west1" && add.params["city"] == "seattle")
            #expect(uuid(add.params["owner_id"]) == Harness.alice.id)
            // No location header: the signed-in user's city decides (bob lives in rome).
            _ = try await gateway.call("rides.start", Self.sampleParams(.ridesStart), token: "bob-token")
            let start = try #require(gateway.services.recorded(InternalMethod.Rides.start).last)
            #expect(start.region == "europe-west1")
            #expect(uuid(start.params["rider_id"]) == Harness.bob.id)
        }
    }

    @Test func anUnknownCityIsRefusedBeforeAnyServiceCall() async throws {
        try await Harness.with { gateway in
            let param = try await gateway.call("vehicles.list", ["city": "atlantis"])
            #expect(param.code == -32602 && param.reason == "unknown_city" && param.field == "city")
            let header = try await gateway.call("vehicles.list", [:], headers: ["X-City": "atlantis"])
            #expect(header.code == -32602 && header.reason == "unknown_city")
            let register = try await gateway.call("users.register", ["username": "carol", "password": "long enough",
                                                                     "email": "c@example.com", "first_name": "C",
                                                                     "last_name": "D", "city": "atlantis"])
            #expect(register.code == -32602 && register.reason == "unknown_city" && register.field == "city")
            let place = try await gateway.call("vehicles.list", [:], headers: ["X-Place": "nowhere"])
            #expect(place.code == -32602 && place.field == "X-Place")
            #expect(gateway.services.recorded.isEmpty)
        }
    }

    // MARK: Authentication and authorization

    @Test func aMissingTokenIs401WithoutAnyServiceCall() async throws {
        try await Harness.with { gateway in
            for method in PublicMethod.allCases where method.requiresAuth {
                let reply = try await gateway.call(method.rawValue, Self.sampleParams(method), headers: ["X-City": "boston"])
                #expect(reply.code == 401 && reply.reason == "missing_token", "\(method.rawValue)")
            }
            #expect(gateway.services.recorded.isEmpty)
            let malformed = try await gateway.call("vehicles.mine", headers: ["Authorization": "Basic abc"])
            #expect(malformed.code == 401 && malformed.reason == "missing_token")
        }
    }

    @Test func anInvalidTokenIsTheUsersServices401AfterOneSessionLookup() async throws {
        try await Harness.with { gateway in
            let reply = try await gateway.call("vehicles.mine", token: "forged")
            #expect(reply.code == 401 && reply.reason == "invalid_token")
            let lookups = gateway.services.recorded(InternalMethod.Users.session)
            #expect(lookups.count == 1)
            #expect(lookups.first?.params == ["token": "forged"])
            #expect(gateway.services.recorded.count == 1)
        }
    }

    @Test func aValidTokenIsLookedUpOnceAndNamesTheCaller() async throws {
        try await Harness.with { gateway in
            let reply = try await gateway.call("vehicles.mine", ["limit": 7], token: "alice-token")
            #expect(reply.error == nil)
            #expect(gateway.services.recorded.map(\.method) == [InternalMethod.Users.session, InternalMethod.Vehicles.owned])
            let owned = try #require(gateway.services.recorded(InternalMethod.Vehicles.owned).first)
            #expect(owned.params.objectValue.map { Set($0.keys) } == ["owner_id", "limit"])
            #expect(uuid(owned.params["owner_id"]) == Harness.alice.id && owned.params["limit"] == 7)

            let me = try await gateway.call("users.me", token: "alice-token")
            #expect(me.result?["user"]?["username"] == "alice")
        }
    }

    @Test func adminMethodsRefuseOtherUsers() async throws {
        try await Harness.with { gateway in
            let params = Self.sampleParams(.promoCodesCreate)
            let refused = try await gateway.call("promo_codes.create", params, token: "alice-token")
            #expect(refused.code == 403 && refused.reason == "admin_required")
            #expect(gateway.services.recorded(InternalMethod.Rides.promoCreate).isEmpty)

            let created = try await gateway.call("promo_codes.create", params, token: "admin-token")
            #expect(created.error == nil)
            let create = try #require(gateway.services.recorded(InternalMethod.Rides.promoCreate).first)
            #expect(uuid(create.params["created_by"]) == Harness.admin.id)
            #expect(create.params["percent_off"] == 10)
        }
    }

    /// The services are reached as `gateway`: a stand-in allowing only that identity answers.
    @Test func servicesSeeTheGatewayIdentityAndTheRequestID() async throws {
        try await Harness.with { gateway in
            gateway.services.answer(InternalMethod.Vehicles.get) { _, context in
                ["caller": .string(context.caller ?? "-"), "request_id": .string(context.requestID)]
            }
            let reply = try await gateway.call("vehicles.get", ["id": "11111111-2222-4333-8444-555555555555"])
            #expect(reply.result?["caller"] == "gateway")
            #expect(reply.result?["request_id"]?.stringValue?.isEmpty == false)
        }
    }

    // MARK: Validation and errors

    @Test func invalidParamsAreRefusedBeforeAnyServiceCall() async throws {
        try await Harness.with { gateway in
            let cases: [(String, JSONValue, String)] = [
                ("vehicles.list", ["limit": 0], "limit"),
                ("vehicles.list", ["cursor": "not a cursor"], "cursor"),
                ("vehicles.list", ["city": "boston", "status": "in_use"], "status"),
                ("vehicles.get", ["id": "not-a-uuid"], "id"),
                ("users.register", ["username": "carol", "password": "short", "email": "c@example.com",
                                    "first_name": "C", "last_name": "D", "city": "paris"], "password"),
                ("auth.login", ["username": "carol"], "password"),
                ("vehicles.add", ["type": "car", "location": ["latitude": 1, "longitude": 2], "color": "r", "brand": "b"], "type"),
                ("rides.start", ["vehicle_id": "11111111-2222-4333-8444-555555555555", "rider_id": "x"], "rider_id"),
            ]
            for (method, params, field) in cases {
                let reply = try await gateway.call(method, params, token: "alice-token")
                #expect(reply.code == -32602 && reply.field == field, "\(method) \(params): \(String(describing: reply.error))")
            }
            #expect(gateway.services.recorded.isEmpty)
        }
    }

    /// Signed-in and admin methods validate too before anything else: not even the session is
    /// looked up for params that cannot be served.
    @Test func invalidParamsOfSignedInMethodsAreRefusedBeforeTheSessionLookup() async throws {
        try await Harness.with { gateway in
            let reply = try await gateway.call("vehicles.add", ["type": "bike", "location": ["latitude": 1, "longitude": 2],
                                                                "color": "r", "brand": "b", "battery": 101],
                                               token: "alice-token", headers: ["X-City": "boston"])
            #expect(reply.code == -32602 && reply.field == "battery")
            let promo = try await gateway.call("promo_codes.create", ["code": "SPRING", "description": "d", "percent_off": 10,
                                                                      "expires_at": "soon"], token: "admin-token")
            #expect(promo.code == -32602 && promo.field == "expires_at")
            let mine = try await gateway.call("vehicles.mine", ["limit": 101], token: "alice-token")
            #expect(mine.code == -32602 && mine.field == "limit")
            // Invalid params and no token: the params are what is wrong.
            let anonymous = try await gateway.call("rides.list", ["limit": 0])
            #expect(anonymous.code == -32602 && anonymous.field == "limit")
            #expect(gateway.services.recorded.isEmpty)
        }
    }

    @Test func aServicesErrorReachesTheClientWithItsCodeAndReason() async throws {
        try await Harness.with { gateway in
            gateway.services.answer(InternalMethod.Rides.start) { _, _ in throw RPCError.conflict(reason: "vehicle_unavailable") }
            gateway.services.answer(InternalMethod.Vehicles.get) { _, _ in throw RPCError.notFound(reason: "vehicle_not_found") }
            gateway.services.answer(InternalMethod.Users.login) { _, _ in
                throw RPCError.unauthenticated(reason: "invalid_credentials")
            }
            let start = try await gateway.call("rides.start", Self.sampleParams(.ridesStart), token: "alice-token")
            #expect(start.code == 409 && start.reason == "vehicle_unavailable")
            let get = try await gateway.call("vehicles.get", ["id": "11111111-2222-4333-8444-555555555555"])
            #expect(get.code == 404 && get.reason == "vehicle_not_found")
            let login = try await gateway.call("auth.login", ["username": "carol", "password": "wrong one"])
            #expect(login.code == 401 && login.reason == "invalid_credentials")
        }
    }

    /// The gateway decodes only the session it asks for; a session of the wrong shape is an
    /// internal error, not a crash or a guess.
    @Test func aMalformedSessionIsAnInternalError() async throws {
        try await Harness.with { gateway in
            gateway.services.answer(InternalMethod.Users.session) { _, _ in ["user": "nobody"] }
            let reply = try await gateway.call("vehicles.mine", token: "alice-token")
            #expect(reply.code == -32603)
            #expect(gateway.services.recorded(InternalMethod.Vehicles.owned).isEmpty)
        }
    }

    // MARK: Idempotent creates

    /// The gateway passes the client's key on and invents one when there is none, so its own
    /// retries of the internal call are idempotent; the services name the objects (their tests).
    @Test func createsTravelWithTheClientsKeyOrAFreshOne() async throws {
        try await Harness.with { gateway in
            func vehicleKey(_ key: String?) async throws -> String? {
                var params = Self.sampleParams(.vehiclesAdd)
                if case .object(var members) = params {
                    members["idempotency_key"] = key.map(JSONValue.string)
                    members["battery"] = nil
                    params = .object(members)
                }
                _ = try await gateway.call("vehicles.add", params, token: "alice-token", headers: ["X-City": "boston"])
                let sent = gateway.services.recorded(InternalMethod.Vehicles.add).last?.params
                // No battery from the client: none to the service either (its default applies).
                #expect(sent?["battery"] == nil || sent?["battery"] == .null)
                return sent?["idempotency_key"]?.stringValue
            }
            #expect(try await vehicleKey("key-1") == "key-1")
            let fresh = try #require(try await vehicleKey(nil))
            let another = try #require(try await vehicleKey(nil))
            #expect(fresh != another && fresh.hasPrefix("gateway:"))

            func rideKey(_ key: String?) async throws -> String? {
                var params: JSONValue = ["vehicle_id": "11111111-2222-4333-8444-555555555555"]
                if let key, case .object(var members) = params {
                    members["idempotency_key"] = .string(key)
                    params = .object(members)
                }
                _ = try await gateway.call("rides.start", params, token: "alice-token")
                return gateway.services.recorded(InternalMethod.Rides.start).last?.params["idempotency_key"]?.stringValue
            }
            #expect(try await rideKey("key-1") == "key-1")
            #expect(try await rideKey(nil)?.hasPrefix("gateway:") == true)
        }
    }

    @Test func deterministicIDsAreVersion8AndSeparateTheirParts() throws {
        let owner = UUID()
        let id = try IdempotentCreate.objectID(.vehicle, owner: owner, key: "k")
        #expect(try IdempotentCreate.objectID(.vehicle, owner: owner, key: "k") == id)
        #expect(try IdempotentCreate.objectID(.vehicle, owner: owner, key: "k2") != id)
        #expect(try IdempotentCreate.objectID(.ride, owner: owner, key: "k") != id)
        #expect(try IdempotentCreate.objectID(.vehicle, owner: UUID(), key: "k") != id)
        let text = id.uuidString.lowercased()
        #expect(Array(text)[14] == "8")
        #expect("89ab".contains(Array(text)[19]))
    }

    /// The derivation is part of the stored data: a retry after an upgrade must find the object
    /// the first attempt created. Vectors computed independently (Python's hashlib over
    /// "movr:<kind><length>:<owner><length>:<key>", UTF-8 lengths in bytes).
    @Test func deterministicIDsKeepTheirDerivation() throws {
        let owner = try #require(UUID(uuidString: "6f1c2a4e-0b7d-4c1e-9a55-2d3e4f5a6b7c"))
        #expect(try IdempotentCreate.objectID(.ride, owner: owner, key: "retry-42")
            == UUID(uuidString: "2a11c5e5-4ce8-8e8d-9dc0-ad80148361ef"))
        #expect(try IdempotentCreate.objectID(.vehicle, owner: owner, key: "ключ-7")
            == UUID(uuidString: "02f501f7-5758-81a1-ac7b-a01536fdee40"))
    }

    // MARK: Write fences

    /// A write's WAL position goes to the client (`X-MovR-LSN`) and fences the same caller's
    /// later reads that a standby may answer; other callers' reads carry no fence.
    @Test func aWritesPositionFencesTheCallersLaterReads() async throws {
        try await Harness.with { gateway in
            gateway.services.answer(InternalMethod.Vehicles.add) { _, _ in
                RPCResponseHeaders.add(RPCHeader.lsn, "0/16B3748")
                return [:]
            }
            let added = try await gateway.call("vehicles.add", Self.sampleParams(.vehiclesAdd), token: "alice-token",
                                               headers: ["X-City": "boston"])
            #expect(added.header(RPCHeader.lsn) == ["0/16B3748"])

            _ = try await gateway.call("vehicles.list", [:], token: "alice-token", headers: ["X-City": "boston"])
            #expect(gateway.services.recorded(InternalMethod.Vehicles.list).last?.headers[RPCHeader.minimumLSN] == "0/16B3748")
            _ = try await gateway.call("vehicles.get", ["id": "11111111-2222-4333-8444-555555555555"], token: "alice-token")
            #expect(gateway.services.recorded(InternalMethod.Vehicles.get).last?.headers[RPCHeader.minimumLSN] == "0/16B3748")
            _ = try await gateway.call("vehicles.list", [:], token: "bob-token", headers: ["X-City": "boston"])
            #expect(gateway.services.recorded(InternalMethod.Vehicles.list).last?.headers[RPCHeader.minimumLSN] == nil)

            // The client's own fence (from a write through another gateway) wins when it is later.
            _ = try await gateway.call("vehicles.list", [:], token: "alice-token",
                                       headers: ["X-City": "boston", "X-MovR-Min-LSN": "1/0"])
            #expect(gateway.services.recorded(InternalMethod.Vehicles.list).last?.headers[RPCHeader.minimumLSN] == "1/0")
            // Methods that a standby never answers carry no fence.
            _ = try await gateway.call("rides.list", [:], token: "alice-token")
            #expect(gateway.services.recorded(InternalMethod.Rides.list).last?.headers[RPCHeader.minimumLSN] == nil)
        }
    }

    @Test func aMalformedClientFenceIsInvalidParams() async throws {
        try await Harness.with { gateway in
            let reply = try await gateway.call("vehicles.list", [:], headers: ["X-City": "boston", "X-MovR-Min-LSN": "yesterday"])
            #expect(reply.code == -32602 && reply.field == "X-MovR-Min-LSN")
            #expect(gateway.services.recorded.isEmpty)
        }
    }

    // MARK: Readiness

    @Test func readyOnlyWhenEveryLocalServiceAnswers() async throws {
        try await Harness.with(region: "us-east1") { gateway in
            #expect(await gateway.api.dependenciesReachable())
            #expect(Set(gateway.services.recorded(InternalMethod.ping).map(\.service)) == [.users, .vehicles, .rides])
            gateway.services.makeUnreachable(region: "us-east1")
            #expect(await gateway.api.dependenciesReachable() == false)
        }
    }
}
