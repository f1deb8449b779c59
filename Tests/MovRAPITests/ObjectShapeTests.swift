import Foundation
import MovRRPC
import Testing

@testable import MovRAPI

@Suite("JSON shapes of API objects")
struct ObjectShapeTests {
    let user = User(id: userID, username: "alice", email: "alice@example.com", firstName: "Alice",
                    lastName: "Liddell", city: "new york", region: "us-east1", createdAt: sampleTime)

    @Test func locationShape() throws {
        let json = try jsonObject(encoding: Location(latitude: 40.7, longitude: -74.0))
        #expect(json == (try jsonObject(#"{"latitude": 40.7, "longitude": -74.0}"#)))
    }

    @Test func userShapeUsesSnakeCaseAndLowercaseID() throws {
        let json = try jsonObject(encoding: user)
        #expect(json == (try jsonObject("""
            {"id": "6f1c2a0b-3d4e-4f50-8a6b-7c8d9e0f1a2b", "username": "alice",
             "email": "alice@example.com", "first_name": "Alice", "last_name": "Liddell",
             "city": "new york", "region": "us-east1", "created_at": "2026-11-27T16:30:02.123Z"}
            """)))
        #expect(try JSONDecoder().decode(User.self, from: JSONEncoder().encode(user)) == user)
    }

    @Test func vehicleWithoutOwnerWritesNullOwner() throws {
        let vehicle = Vehicle(id: vehicleID, type: .scooter, city: "paris", region: "europe-west1", ownerID: nil,
                              status: .inUse, battery: 87, location: Location(latitude: 48.85, longitude: 2.35),
                              color: "red", brand: "Lime", createdAt: sampleTime)
        let json = try jsonObject(encoding: vehicle)
        #expect(json == (try jsonObject("""
            {"id": "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9", "type": "scooter", "city": "paris",
             "region": "europe-west1", "owner_id": null, "status": "in_use", "battery": 87,
             "location": {"latitude": 48.85, "longitude": 2.35}, "color": "red", "brand": "Lime",
             "created_at": "2026-11-27T16:30:02.123Z"}
            """)))
        #expect(json["owner_id"] is NSNull)
        #expect(try JSONDecoder().decode(Vehicle.self, from: JSONEncoder().encode(vehicle)) == vehicle)
    }

    @Test func vehicleWithOwner() throws {
        let vehicle = Vehicle(id: vehicleID, type: .bike, city: "rome", region: "europe-west1", ownerID: userID,
                              status: .available, battery: 100, location: Location(latitude: 41.9, longitude: 12.5),
                              color: "blue", brand: "Bianchi", createdAt: sampleTime)
        let json = try jsonObject(encoding: vehicle)
        #expect(json["owner_id"] as? String == "6f1c2a0b-3d4e-4f50-8a6b-7c8d9e0f1a2b")
        #expect(json["status"] as? String == "available")
        #expect(try JSONDecoder().decode(Vehicle.self, from: JSONEncoder().encode(vehicle)) == vehicle)
    }

    @Test func activeRideWritesEveryNullableFieldAsNull() throws {
        let ride = Ride(id: rideID, vehicleID: vehicleID, riderID: userID, city: "boston", region: "us-east1",
                        startLocation: Location(latitude: 42.36, longitude: -71.06), startTime: sampleTime,
                        currency: "USD")
        let json = try jsonObject(encoding: ride)
        #expect(json == (try jsonObject("""
            {"id": "fedcba98-7654-4321-8fed-cba987654321", "vehicle_id": "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9",
             "rider_id": "6f1c2a0b-3d4e-4f50-8a6b-7c8d9e0f1a2b", "city": "boston", "region": "us-east1",
             "start_location": {"latitude": 42.36, "longitude": -71.06}, "end_location": null,
             "start_time": "2026-11-27T16:30:02.123Z", "end_time": null, "duration_seconds": null,
             "revenue": null, "currency": "USD", "promo_code": null}
            """)))
        for key in ["end_location", "end_time", "duration_seconds", "revenue", "promo_code"] {
            #expect(json[key] is NSNull, "\(key) must be present as null")
        }
        let decoded = try JSONDecoder().decode(Ride.self, from: JSONEncoder().encode(ride))
        #expect(decoded == ride)
        #expect(decoded.isActive)
    }

    @Test func endedRideShape() throws {
        let ride = Ride(id: rideID, vehicleID: vehicleID, riderID: userID, city: "boston", region: "us-east1",
                        startLocation: Location(latitude: 42.36, longitude: -71.06),
                        endLocation: Location(latitude: 42.35, longitude: -71.05), startTime: sampleTime,
                        endTime: laterTime, durationSeconds: 725, revenue: "4.25", currency: "USD",
                        promoCode: "WELCOME10")
        let json = try jsonObject(encoding: ride)
        #expect(json == (try jsonObject("""
            {"id": "fedcba98-7654-4321-8fed-cba987654321", "vehicle_id": "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9",
             "rider_id": "6f1c2a0b-3d4e-4f50-8a6b-7c8d9e0f1a2b", "city": "boston", "region": "us-east1",
             "start_location": {"latitude": 42.36, "longitude": -71.06},
             "end_location": {"latitude": 42.35, "longitude": -71.05},
             "start_time": "2026-11-27T16:30:02.123Z", "end_time": "2026-11-27T16:42:07.500Z",
             "duration_seconds": 725, "revenue": "4.25", "currency": "USD", "promo_code": "WELCOME10"}
            """)))
        let decoded = try JSONDecoder().decode(Ride.self, from: JSONEncoder().encode(ride))
        #expect(decoded == ride)
        #expect(!decoded.isActive)
    }

    @Test func rideDecodesWhenNullableKeysAreMissing() throws {
        let ride = try decode(Ride.self, """
            {"id": "fedcba98-7654-4321-8fed-cba987654321", "vehicle_id": "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9",
             "rider_id": "6f1c2a0b-3d4e-4f50-8a6b-7c8d9e0f1a2b", "city": "boston", "region": "us-east1",
             "start_location": {"latitude": 42.36, "longitude": -71.06},
             "start_time": "2026-11-27T16:30:02Z", "currency": "USD"}
            """)
        #expect(ride.endTime == nil && ride.revenue == nil && ride.promoCode == nil)
    }

    @Test func promoCodeShapes() throws {
        let promo = PromoCode(code: "WELCOME10", description: "10% off", percentOff: 10, expiresAt: laterTime,
                              createdAt: sampleTime)
        #expect(try jsonObject(encoding: promo) == (try jsonObject("""
            {"code": "WELCOME10", "description": "10% off", "percent_off": 10,
             "expires_at": "2026-11-27T16:42:07.500Z", "created_at": "2026-11-27T16:30:02.123Z"}
            """)))
        #expect(try JSONDecoder().decode(PromoCode.self, from: JSONEncoder().encode(promo)) == promo)

        let unused = UserPromoCode(userID: userID, code: "WELCOME10", appliedAt: sampleTime)
        #expect(try jsonObject(encoding: UserPromoCodeResult(userPromoCode: unused)) == (try jsonObject("""
            {"user_promo_code": {"user_id": "6f1c2a0b-3d4e-4f50-8a6b-7c8d9e0f1a2b", "code": "WELCOME10",
             "applied_at": "2026-11-27T16:30:02.123Z", "used_at": null}}
            """)))
        let used = UserPromoCode(userID: userID, code: "WELCOME10", appliedAt: sampleTime, usedAt: laterTime)
        #expect(try jsonObject(encoding: used)["used_at"] as? String == "2026-11-27T16:42:07.500Z")
        #expect(try JSONDecoder().decode(UserPromoCode.self, from: JSONEncoder().encode(used)) == used)
        #expect(try jsonObject(encoding: PromoCodesListResult(promoCodes: [promo]))["promo_codes"] is NSArray)
        #expect(try jsonObject(encoding: PromoCodeResult(promoCode: promo))["promo_code"] is NSDictionary)
    }

    @Test func citiesListShape() throws {
        let result = CitiesListResult(
            cities: [CityInfo(city: "new york", region: "us-east1", latitude: 40.7128, longitude: -74.006, radiusKm: 20)],
            regions: ["us-east1"], gatewayRegion: "us-west1",
            location: ClientLocationInfo(city: nil, region: "us-west1", source: "gateway"))
        #expect(try jsonObject(encoding: result) == (try jsonObject("""
            {"cities": [{"city": "new york", "region": "us-east1", "latitude": 40.7128, "longitude": -74.006,
                         "radius_km": 20}],
             "regions": ["us-east1"], "gateway_region": "us-west1",
             "location": {"city": null, "region": "us-west1", "source": "gateway"}}
            """)))
    }

    @Test func loginResultShape() throws {
        let result = AuthLoginResult(token: "s3cr3t-token", expiresAt: laterTime, user: user)
        let json = try jsonObject(encoding: result)
        #expect(Set(json.allKeys.compactMap { $0 as? String }) == ["token", "expires_at", "user"])
        #expect(json["expires_at"] as? String == "2026-11-27T16:42:07.500Z")
        #expect(try JSONDecoder().decode(AuthLoginResult.self, from: JSONEncoder().encode(result)) == result)
        #expect(!"\(result)".contains("s3cr3t") && !String(reflecting: result).contains("s3cr3t"))
        #expect(!"\(AuthLoginParams(username: "alice", password: "hunter2hunter2"))".contains("hunter2"))
    }

    @Test func listResultsAlwaysCarryNextCursor() throws {
        let end = try jsonObject(encoding: VehiclesListResult(vehicles: [], nextCursor: nil))
        #expect(end == (try jsonObject(#"{"vehicles": [], "next_cursor": null}"#)))
        let more = try jsonObject(encoding: RidesListResult(rides: [], nextCursor: "abc"))
        #expect(more == (try jsonObject(#"{"rides": [], "next_cursor": "abc"}"#)))
        let rides = try decode(RidesListResult.self, #"{"rides": [], "next_cursor": null}"#)
        #expect(rides.nextCursor == nil)
    }

    @Test func locationHistoryShape() throws {
        let result = LocationHistoryResult(locations: [
            LocationRecord(latitude: 40.7, longitude: -74.0, recordedAt: sampleTime, rideID: rideID),
            LocationRecord(latitude: 40.8, longitude: -73.9, recordedAt: laterTime),
        ])
        #expect(try jsonObject(encoding: result) == (try jsonObject("""
            {"locations": [
              {"latitude": 40.7, "longitude": -74.0, "recorded_at": "2026-11-27T16:30:02.123Z",
               "ride_id": "fedcba98-7654-4321-8fed-cba987654321"},
              {"latitude": 40.8, "longitude": -73.9, "recorded_at": "2026-11-27T16:42:07.500Z", "ride_id": null}]}
            """)))
        #expect(try JSONDecoder().decode(LocationHistoryResult.self, from: JSONEncoder().encode(result)) == result)
    }

    @Test func singleObjectResultsAndEmptyObject() throws {
        #expect(try jsonObject(encoding: UserResult(user: user))["user"] is NSDictionary)
        #expect(try jsonObject(encoding: EmptyObject()) == NSDictionary())
        #expect(try decode(EmptyObject.self, "{}") == EmptyObject())
    }

    @Test func paramsEncodeLowercaseIDsAndOmitAbsentOptionals() throws {
        #expect(try jsonObject(encoding: RidesStartParams(vehicleID: vehicleID)) == (try jsonObject(
            #"{"vehicle_id": "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9"}"#)))
        #expect(try jsonObject(encoding: RidesEndParams(rideID: rideID, location: Location(latitude: 1, longitude: 2),
                                                        battery: 50)) == (try jsonObject("""
            {"ride_id": "fedcba98-7654-4321-8fed-cba987654321", "location": {"latitude": 1, "longitude": 2},
             "battery": 50}
            """)))
        #expect(try jsonObject(encoding: VehiclesListParams()) == NSDictionary())
        #expect(try jsonObject(encoding: VehiclesGetParams(id: vehicleID))["id"] as? String
                == "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9")
    }

    @Test func everyParamsTypeRoundTrips() throws {
        let location = Location(latitude: 40.7, longitude: -74.0)
        let values: [any APIParams] = [
            EmptyObject(),
            UsersRegisterParams(username: "alice", password: "correct horse", email: "a@b.co", firstName: "A",
                                lastName: "L", city: "boston"),
            AuthLoginParams(username: "alice", password: "pw"),
            VehiclesListParams(city: "paris", limit: 10, cursor: PageCursor(sortKeyMicroseconds: 1, id: rideID).encoded),
            VehiclesGetParams(id: vehicleID), VehiclesRemoveParams(id: vehicleID),
            VehiclesAddParams(type: .skateboard, city: "rome", location: location, color: "red", brand: "x", battery: 3),
            LocationHistoryParams(id: vehicleID, limit: 5),
            RidesStartParams(vehicleID: vehicleID, idempotencyKey: "k-1"),
            RidesUpdateLocationParams(rideID: rideID, location: location),
            RidesEndParams(rideID: rideID, location: location),
            RidesListParams(activeOnly: true, limit: 100),
            RidesGetParams(id: rideID),
            PromoCodesCreateParams(code: "SPRING_25", description: "", percentOff: 25, expiresAt: laterTime),
            PromoCodesApplyParams(code: "SPRING_25"),
        ]
        for value in values {
            try expectRoundTrip(value)
        }
    }

    /// Encoded as a client sends params, decoded as the server's dispatcher does.
    private func expectRoundTrip<P: APIParams>(_ value: P) throws {
        let decoded = try JSONValue(encoding: value).decode(as: P.self)
        #expect(decoded == value)
        #expect(validationFailure(decoded) == nil, "\(P.self) sample must be valid")
    }
}
