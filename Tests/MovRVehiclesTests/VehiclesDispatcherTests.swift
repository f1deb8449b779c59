import Foundation
import MovRAPI
import MovRInternalAPI
import MovRLocality
import MovRPostgres
import MovRRPC
import MovRTestSupport
import MovRVehicles
import Testing

/// The vehicles service's internal JSON-RPC surface, against a real, migrated database.
@Suite("vehicles dispatcher")
struct VehiclesDispatcherTests {
    func withDispatcher(_ body: (RPCDispatcher, VehiclesStore) async throws -> Void) async throws {
        try await TestPostgres.withClient(poolSize: 4) { client in
            try await Migrator(client: client).apply(VehiclesSchema.migrations)
            let store = VehiclesStore(database: client, locality: try Locality.loadDefault())
            try await body(VehiclesService.dispatcher(store: store), store)
        }
    }

    /// The table the params decoding tests and the fuzzer iterate names exactly these methods.
    @Test func registersExactlyTheContractMethods() async throws {
        try await withDispatcher { dispatcher, _ in
            #expect(Set(dispatcher.methodNames) == InternalMethod.names(of: .vehicles))
            #expect(dispatcher.allowLists == InternalMethod.allowLists(of: .vehicles))
        }
    }

    /// Every identity the table leaves out of a method's allow list gets the dispatcher's 403.
    @Test func callersOutsideTheTableAreForbidden() async throws {
        try await withDispatcher { dispatcher, _ in
            for entry in InternalMethod.table where entry.service == .vehicles {
                guard let allowed = entry.allowedCallers else { continue }
                for outsider in ServiceIdentity.allCases where !allowed.contains(outsider) {
                    let refused = try await call(dispatcher, entry.name, [:], caller: outsider.rawValue)
                    #expect(refused.error?["code"] == 403, "\(entry.name) as \(outsider)")
                    #expect(refused.error?["data"]?["reason"] == "caller_not_allowed", "\(entry.name) as \(outsider)")
                }
            }
        }
    }

    /// Sends one request as `caller`; returns the response's `result` or `error` object.
    func call(_ dispatcher: RPCDispatcher, _ method: String, _ params: JSONValue, caller: String?)
        async throws -> (result: JSONValue?, error: JSONValue?) {
        let request: JSONValue = ["jsonrpc": "2.0", "id": 1, "method": .string(method), "params": params]
        let reply = try #require(await dispatcher.handle(body: request.serialized(), context: RPCContext(caller: caller)))
        let object = try JSONValue.parse(reply)
        return (object["result"], object["error"])
    }

    /// Regression for a remote crash: the sort key of this forged cursor overflowed a time
    /// conversion and trapped the process. It is now an invalid-params error naming `cursor`,
    /// and the service answers the next request as usual.
    @Test(arguments: ["AX__________AAAAAAAAAAAAAAAAAAAAAA",
                      PageCursor(sortKeyMicroseconds: .max, id: UUID()).encoded])
    func forgedCursorsAreInvalidParams(_ cursor: String) async throws {
        try await withDispatcher { dispatcher, _ in
            let forged = try await call(dispatcher, "vehicles.list",
                                        ["city": "new york", "limit": 5, "cursor": .string(cursor)], caller: "gateway")
            #expect(forged.error?["code"] == -32602)
            #expect(forged.error?["data"]?["field"] == "cursor")
            let page = try await call(dispatcher, "vehicles.list", ["city": "new york", "limit": 5], caller: "gateway")
            #expect(page.result?["vehicles"]?.arrayValue != nil)
        }
    }

    /// The same fault has the same reason from every service: an unknown city is
    /// `-32602 unknown_city` on field `city` here as from the users service and the gateway.
    @Test func anUnknownCityIsUnknownCity() async throws {
        try await withDispatcher { dispatcher, _ in
            let refused = try await call(dispatcher, "vehicles.add", [
                "idempotency_key": .string(UUID().uuidString), "owner_id": .string(UUID().uuidString), "city": "atlantis",
                "type": "bike", "location": ["latitude": 40, "longitude": 10], "color": "red", "brand": "b", "battery": 90,
            ], caller: "gateway")
            #expect(refused.error?["code"] == -32602)
            #expect(refused.error?["data"]?["reason"] == "unknown_city")
            #expect(refused.error?["data"]?["field"] == "city")
        }
    }

    @Test func listIsForTheGatewayOnly() async throws {
        try await withDispatcher { dispatcher, _ in
            let refused = try await call(dispatcher, "vehicles.list", ["city": "new york", "limit": 5], caller: "users")
            #expect(refused.error?["code"] == 403)
        }
    }

    /// The reconciler of a region asks for its own old reservations; the database filters them.
    @Test func inUseListFiltersByRegionAndAgeInTheDatabase() async throws {
        try await withDispatcher { dispatcher, store in
            var reserved: [String: UUID] = [:]
            for city in ["new york", "seattle", "rome"] {
                let vehicle = try await call(dispatcher, "vehicles.add", [
                    "idempotency_key": .string(UUID().uuidString), "owner_id": .string(UUID().uuidString), "city": .string(city),
                    "type": "bike", "location": ["latitude": 40, "longitude": 10], "color": "red", "brand": "b", "battery": 90,
                ], caller: "gateway")
                let id = try #require(vehicle.result?["vehicle"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:)))
                let ride = UUID()
                _ = try await store.reserve(vehicleID: id, rideID: ride)
                reserved[city] = ride
            }
            let later = Date().addingTimeInterval(60)
            let east = try await call(dispatcher, "vehicles.list_in_use",
                                      ["region": "us-east1", "reserved_before": .string(RFC3339.string(from: later))], caller: "rides")
            let eastRides = east.result?["reservations"]?.arrayValue?.compactMap { $0["ride_id"]?.stringValue?.lowercased() }
            #expect(eastRides == [reserved["new york"]!.uuidString.lowercased()])
            let none = try await call(dispatcher, "vehicles.list_in_use",
                                      ["region": "us-east1", "reserved_before": .string(RFC3339.string(from: Date().addingTimeInterval(-60)))],
                                      caller: "rides")
            #expect(none.result?["reservations"]?.arrayValue?.isEmpty == true)
            let all = try await call(dispatcher, "vehicles.list_in_use", [:], caller: "operator")
            #expect(all.result?["reservations"]?.arrayValue?.count == 3)
        }
    }
}
