import Foundation
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRVehicles
import Testing

/// Each internal method of the vehicles service over the wire: allow lists, paging, ownership,
/// the ride states, and who sees positions.
extension VehiclesDispatcherTests {
    static let gateway = ServiceIdentity.gateway.rawValue
    static let rides = ServiceIdentity.rides.rawValue

    /// Valid params per method, about vehicles that do not exist.
    static func sampleParams(_ method: String) -> JSONValue {
        let id = JSONValue.string(UUID().uuidString)
        let location: JSONValue = ["latitude": 40, "longitude": 10]
        typealias V = InternalMethod.Vehicles
        return switch method {
        case V.list: ["city": "boston", "limit": 5]
        case V.get: ["id": id]
        case V.owned: ["owner_id": id, "limit": 5]
        case V.add: ["idempotency_key": "k", "owner_id": id, "city": "boston", "type": "bike", "location": location,
                     "color": "red", "brand": "b", "battery": 90]
        case V.remove: ["id": id, "owner_id": id]
        case V.locationHistory: ["id": id, "limit": 5, "viewer_id": id]
        case V.reserve: ["vehicle_id": id, "ride_id": id]
        case V.release: ["vehicle_id": id, "ride_id": id]
        case V.recordLocation: ["vehicle_id": id, "ride_id": id, "location": location]
        default: [:]
        }
    }

    /// The other side of `callersOutsideTheTableAreForbidden`: each identity the table allows
    /// gets past the allow list (to an answer or a domain error), a caller without an identity
    /// never does, and anyone may ping.
    @Test func everyCallerTheTableAllowsGetsThrough() async throws {
        try await withDispatcher { dispatcher, _ in
            for entry in InternalMethod.table where entry.service == .vehicles {
                let params = Self.sampleParams(entry.name)
                guard let allowed = entry.allowedCallers else {
                    for caller in ServiceIdentity.allCases.map({ $0.rawValue as String? }) + [nil] {
                        #expect(try await call(dispatcher, entry.name, params, caller: caller).result != nil)
                    }
                    continue
                }
                for caller in allowed {
                    let reply = try await call(dispatcher, entry.name, params, caller: caller.rawValue)
                    #expect(reply.error?["data"]?["reason"] != "caller_not_allowed", "\(entry.name) as \(caller)")
                    #expect(reply.error?["code"] != -32602, "\(entry.name): \(String(describing: reply.error))")
                }
                let anonymous = try await call(dispatcher, entry.name, params, caller: nil)
                #expect(anonymous.error?["code"] == 403, "\(entry.name) without an identity")
            }
        }
    }

    func addVehicle(_ dispatcher: RPCDispatcher, city: String = "boston", owner: UUID = UUID(), key: String = UUID().uuidString)
        async throws -> (result: JSONValue?, error: JSONValue?) {
        try await call(dispatcher, InternalMethod.Vehicles.add, [
            "idempotency_key": .string(key), "owner_id": .string(owner.uuidString), "city": .string(city), "type": "bike",
            "location": ["latitude": .number("42.36"), "longitude": .number("-71.06")], "color": "red", "brand": "b", "battery": 90,
        ], caller: Self.gateway)
    }

    func vehicleID(_ reply: (result: JSONValue?, error: JSONValue?)) throws -> String {
        try #require(reply.result?["vehicle"]?["id"]?.stringValue)
    }

    @Test func listPagesWithCursorsWithoutGapsOrRepeats() async throws {
        try await withDispatcher { dispatcher, _ in
            var added: Set<String> = []
            for _ in 0..<5 { added.insert(try vehicleID(try await addVehicle(dispatcher))) }
            _ = try await addVehicle(dispatcher, city: "paris")
            var seen: [String] = []
            var cursor: JSONValue = .null
            var pages = 0
            repeat {
                var params: JSONValue = ["city": "boston", "limit": 2]
                if cursor != .null, case .object(var members) = params {
                    members["cursor"] = cursor
                    params = .object(members)
                }
                let page = try await call(dispatcher, InternalMethod.Vehicles.list, params, caller: Self.gateway)
                let vehicles = try #require(page.result?["vehicles"]?.arrayValue)
                seen += vehicles.compactMap { $0["id"]?.stringValue }
                cursor = try #require(page.result?["next_cursor"])
                pages += 1
            } while cursor != .null && pages < 10
            #expect(pages == 3)
            #expect(seen.count == 5 && Set(seen) == added)

            // Out-of-range limits are clamped, not refused.
            let one = try await call(dispatcher, InternalMethod.Vehicles.list, ["city": "boston", "limit": 0], caller: Self.gateway)
            #expect(one.result?["vehicles"]?.arrayValue?.count == 1)
            let bad = try await call(dispatcher, InternalMethod.Vehicles.list, ["city": "boston", "limit": 2, "cursor": "%%%"],
                                     caller: Self.gateway)
            #expect(bad.error?["code"] == -32602 && bad.error?["data"]?["field"] == "cursor")
            let owned = try await call(dispatcher, InternalMethod.Vehicles.owned,
                                       ["owner_id": .string(UUID().uuidString), "limit": 2, "cursor": "%%%"], caller: Self.gateway)
            #expect(owned.error?["code"] == -32602 && owned.error?["data"]?["field"] == "cursor")
        }
    }

    @Test func getOfAnUnknownVehicleIsNotFound() async throws {
        try await withDispatcher { dispatcher, _ in
            for caller in [Self.gateway, Self.rides] {
                let reply = try await call(dispatcher, InternalMethod.Vehicles.get, ["id": .string(UUID().uuidString)], caller: caller)
                #expect(reply.error?["code"] == 404 && reply.error?["data"]?["reason"] == "vehicle_not_found")
            }
            let id = try vehicleID(try await addVehicle(dispatcher))
            let found = try await call(dispatcher, InternalMethod.Vehicles.get, ["id": .string(id)], caller: Self.gateway)
            #expect(found.result?["vehicle"]?["status"] == "available")
        }
    }

    @Test func onlyTheOwnerRemovesAndKeysArePerOwner() async throws {
        try await withDispatcher { dispatcher, _ in
            let owner = UUID()
            let id = try IdempotentCreate.objectID(.vehicle, owner: owner, key: "k-1")
            let first = try await addVehicle(dispatcher, owner: owner, key: "k-1")
            #expect(try vehicleID(first) == id.uuidString.lowercased())
            let again = try await addVehicle(dispatcher, owner: owner, key: "k-1")
            #expect(try vehicleID(again) == id.uuidString.lowercased())
            let othersKey = try await addVehicle(dispatcher, owner: UUID(), key: "k-1")
            #expect(try vehicleID(othersKey) != id.uuidString.lowercased())

            func remove(_ vehicle: UUID, by who: UUID) async throws -> (result: JSONValue?, error: JSONValue?) {
                try await call(dispatcher, InternalMethod.Vehicles.remove,
                               ["id": .string(vehicle.uuidString), "owner_id": .string(who.uuidString)], caller: Self.gateway)
            }
            let foreign = try await remove(id, by: UUID())
            #expect(foreign.error?["code"] == 403 && foreign.error?["data"]?["reason"] == "not_vehicle_owner")
            let unknown = try await remove(UUID(), by: owner)
            #expect(unknown.error?["code"] == 404 && unknown.error?["data"]?["reason"] == "vehicle_not_found")
            let removed = try await remove(id, by: owner)
            #expect(removed.result?["vehicle"]?["status"] == "removed")
        }
    }

    @Test func reserveAndReleaseOverTheWire() async throws {
        try await withDispatcher { dispatcher, _ in
            let owner = UUID()
            let id = try vehicleID(try await addVehicle(dispatcher, owner: owner))
            let ride = UUID().uuidString
            let reserved = try await call(dispatcher, InternalMethod.Vehicles.reserve,
                                          ["vehicle_id": .string(id), "ride_id": .string(ride)], caller: Self.rides)
            #expect(reserved.result?["vehicle"]?["status"] == "in_use")
            let taken = try await call(dispatcher, InternalMethod.Vehicles.reserve,
                                       ["vehicle_id": .string(id), "ride_id": .string(UUID().uuidString)], caller: Self.rides)
            #expect(taken.error?["code"] == 409 && taken.error?["data"]?["reason"] == "vehicle_unavailable")
            let missing = try await call(dispatcher, InternalMethod.Vehicles.reserve,
                                         ["vehicle_id": .string(UUID().uuidString), "ride_id": .string(ride)], caller: Self.rides)
            #expect(missing.error?["code"] == 404 && missing.error?["data"]?["reason"] == "vehicle_not_found")
            let busy = try await call(dispatcher, InternalMethod.Vehicles.remove,
                                      ["id": .string(id), "owner_id": .string(owner.uuidString)], caller: Self.gateway)
            #expect(busy.error?["code"] == 409 && busy.error?["data"]?["reason"] == "vehicle_in_use")
            let stray = try await call(dispatcher, InternalMethod.Vehicles.recordLocation,
                                       ["vehicle_id": .string(id), "ride_id": .string(UUID().uuidString),
                                        "location": ["latitude": 1, "longitude": 1]], caller: Self.rides)
            #expect(stray.error?["code"] == 409 && stray.error?["data"]?["reason"] == "ride_not_active")

            let released = try await call(dispatcher, InternalMethod.Vehicles.release,
                                          ["vehicle_id": .string(id), "ride_id": .string(ride),
                                           "location": ["latitude": .number("42.4"), "longitude": .number("-71.1")], "battery": 33], caller: Self.rides)
            #expect(released.result?["vehicle"]?["status"] == "available")
            #expect(released.result?["vehicle"]?["battery"] == 33)
            let location = released.result?["vehicle"]?["location"]
            #expect(location?["latitude"]?.numberLiteral.flatMap(Double.init) == 42.4)
            #expect(location?["longitude"]?.numberLiteral.flatMap(Double.init) == -71.1)
        }
    }

    @Test func locationHistoryIsTheOwnersOrTheRidersOverTheWire() async throws {
        try await withDispatcher { dispatcher, _ in
            let owner = UUID()
            let id = try vehicleID(try await addVehicle(dispatcher, owner: owner))
            func history(_ viewer: UUID, vehicle: String? = nil) async throws -> (result: JSONValue?, error: JSONValue?) {
                try await call(dispatcher, InternalMethod.Vehicles.locationHistory,
                               ["id": .string(vehicle ?? id), "limit": 10, "viewer_id": .string(viewer.uuidString)],
                               caller: Self.gateway)
            }
            #expect(try await history(owner).result?["locations"]?.arrayValue?.count == 1)
            let stranger = try await history(UUID())
            #expect(stranger.error?["code"] == 403 && stranger.error?["data"]?["reason"] == "not_vehicle_owner")
            let unknown = try await history(owner, vehicle: UUID().uuidString)
            #expect(unknown.error?["code"] == 404 && unknown.error?["data"]?["reason"] == "vehicle_not_found")

            let rider = UUID()
            let ride = UUID().uuidString
            _ = try await call(dispatcher, InternalMethod.Vehicles.reserve,
                               ["vehicle_id": .string(id), "ride_id": .string(ride), "rider_id": .string(rider.uuidString)],
                               caller: Self.rides)
            let riderView = try #require(try await history(rider).result?["locations"]?.arrayValue)
            #expect(riderView.count == 1 && riderView.allSatisfy { $0["ride_id"]?.stringValue == ride.lowercased() })
            #expect(try await history(owner).result?["locations"]?.arrayValue?.count == 1)
        }
    }
}
