import Foundation
import MovRInternalAPI
import MovRRPC
import MovRRides
import Testing

/// The internal JSON-RPC surface: method names, allow lists, error codes and result shapes.
@Suite("rides dispatcher")
struct RidesDispatcherTests {
    /// Sends one request as `caller`; returns the response's `result` or `error` object.
    func call(_ dispatcher: RPCDispatcher, _ method: String, _ params: [String: Any], caller: String?)
        async throws -> (result: [String: Any]?, error: [String: Any]?) {
        let request: [String: Any] = ["jsonrpc": "2.0", "id": 1, "method": method, "params": params]
        let body = try JSONSerialization.data(withJSONObject: request)
        let reply = try #require(await dispatcher.handle(body: [UInt8](body), context: RPCContext(caller: caller)))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any])
        return (object["result"] as? [String: Any], object["error"] as? [String: Any])
    }

    func reason(_ error: [String: Any]?) -> String? {
        (error?["data"] as? [String: Any])?["reason"] as? String
    }

    /// The table the params decoding tests and the fuzzer iterate names exactly these methods.
    @Test func registersExactlyTheContractMethods() async throws {
        try await withRidesStore { store async throws in
            let flows = RideFlows(store: store, vehicles: FakeVehicles(), region: "us-east1", logger: testLogger)
            let dispatcher = RidesService.dispatcher(flows: flows)
            #expect(Set(dispatcher.methodNames) == InternalMethod.names(of: .rides))
            #expect(dispatcher.allowLists == InternalMethod.allowLists(of: .rides))
        }
    }

    /// Every identity the table leaves out of a method's allow list gets the dispatcher's 403.
    @Test func callersOutsideTheTableAreForbidden() async throws {
        try await withRidesStore { store async throws in
            let flows = RideFlows(store: store, vehicles: FakeVehicles(), region: "us-east1", logger: testLogger)
            let dispatcher = RidesService.dispatcher(flows: flows)
            for entry in InternalMethod.table where entry.service == .rides {
                guard let allowed = entry.allowedCallers else { continue }
                for outsider in ServiceIdentity.allCases where !allowed.contains(outsider) {
                    let refused = try await call(dispatcher, entry.name, [:], caller: outsider.rawValue)
                    #expect(refused.error?["code"] as? Int == 403, "\(entry.name) as \(outsider)")
                    #expect(reason(refused.error) == "caller_not_allowed", "\(entry.name) as \(outsider)")
                }
            }
        }
    }

    @Test func methodsAnswerOnlyTheirCallers() async throws {
        try await withRidesStore { store async throws in
            let vehicles = FakeVehicles()
            let flows = RideFlows(store: store, vehicles: vehicles, region: "us-east1", logger: testLogger)
            let dispatcher = RidesService.dispatcher(flows: flows)
            let vehicle = await vehicles.addVehicle()
            let rider = UUID().uuidString.lowercased()
            let key = "a-key"
            let rideID = try IdempotentCreate.objectID(.ride, owner: try #require(UUID(uuidString: rider)), key: key)
                .uuidString.lowercased()
            let start: [String: Any] = ["idempotency_key": key, "rider_id": rider, "vehicle_id": vehicle.uuidString.lowercased()]

            let refused = try await call(dispatcher, "rides.start", start, caller: "users")
            #expect(refused.error?["code"] as? Int == 403)

            let started = try await call(dispatcher, "rides.start", start, caller: "gateway")
            let ride = try #require(started.result?["ride"] as? [String: Any])
            #expect(ride["id"] as? String == rideID)
            #expect(ride["currency"] as? String == "USD")
            #expect(ride["revenue"] is NSNull && ride["end_time"] is NSNull)

            let active = try await call(dispatcher, "rides.active_for_rider", ["rider_id": rider], caller: "users")
            #expect(active.result?["active"] as? Bool == true)

            let foreign = try await call(dispatcher, "rides.get", ["id": rideID, "rider_id": UUID().uuidString], caller: "gateway")
            #expect(foreign.error?["code"] as? Int == 404 && reason(foreign.error) == "ride_not_found")

            let badCursor = try await call(dispatcher, "rides.list",
                                           ["rider_id": rider, "active_only": false, "limit": 5, "cursor": "nope"],
                                           caller: "gateway")
            #expect(badCursor.error?["code"] as? Int == -32602)

            let listed = try await call(dispatcher, "rides.list", ["rider_id": rider, "active_only": true, "limit": 5],
                                        caller: "gateway")
            #expect((listed.result?["rides"] as? [Any])?.count == 1 && listed.result?["next_cursor"] is NSNull)

            let operatorView = try await call(dispatcher, "rides.list_active", [:], caller: "operator")
            #expect((operatorView.result?["rides"] as? [Any])?.count == 1)

            let ended = try await call(dispatcher, "rides.end",
                                       ["ride_id": rideID, "rider_id": rider, "location": ["latitude": 40.7, "longitude": -74.0],
                                        "battery": 50],
                                       caller: "gateway")
            let endedRide = try #require(ended.result?["ride"] as? [String: Any])
            #expect(endedRide["revenue"] as? String == "1.25")
            #expect(endedRide["duration_seconds"] is Int)

            let ping = try await call(dispatcher, "system.ping", [:], caller: nil)
            #expect(ping.result?.isEmpty == true)
        }
    }

    @Test func promoCodeErrors() async throws {
        try await withRidesStore { store async throws in
            let flows = RideFlows(store: store, vehicles: FakeVehicles(), region: "us-east1", logger: testLogger)
            let dispatcher = RidesService.dispatcher(flows: flows)
            let create: [String: Any] = ["code": "SUMMER", "description": "sun", "percent_off": 10,
                                         "created_by": UUID().uuidString,
                                         // The internal contract carries `Date` in its default Codable form.
                                         "expires_at": Date().addingTimeInterval(86_400).timeIntervalSinceReferenceDate]
            let created = try await call(dispatcher, "promo_codes.create", create, caller: "gateway")
            #expect((created.result?["promo_code"] as? [String: Any])?["code"] as? String == "SUMMER")
            let duplicate = try await call(dispatcher, "promo_codes.create", create, caller: "gateway")
            #expect(duplicate.error?["code"] as? Int == 409 && reason(duplicate.error) == "promo_code_exists")

            let unknown = try await call(dispatcher, "promo_codes.apply", ["user_id": UUID().uuidString, "code": "WINTER"],
                                         caller: "gateway")
            #expect(unknown.error?["code"] as? Int == 404 && reason(unknown.error) == "promo_code_not_found")
            let listed = try await call(dispatcher, "promo_codes.list", [:], caller: "gateway")
            #expect((listed.result?["promo_codes"] as? [Any])?.count == 1)
        }
    }
}
