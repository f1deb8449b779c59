import Foundation
import MovRRPC
import NIOCore
import Testing

@testable import MovRAPI
import MovRInternalAPI

/// Services write results with the one-pass ``JSONByteEncoder``; every API object must come out
/// exactly as its `Codable` shape (pinned in ObjectShapeTests through `JSONEncoder`) says.
@Suite("API objects through the server's encoder")
struct ByteEncoderShapeTests {
    static let user = User(id: userID, username: "alice", email: "alice@example.com", firstName: "Alice",
                           lastName: "Liddell", city: "new york", region: "us-east1", createdAt: sampleTime)
    static let vehicle = Vehicle(id: vehicleID, type: .scooter, city: "paris", region: "europe-west1", ownerID: nil,
                                 status: .inUse, battery: 87, location: Location(latitude: 48.85, longitude: 2.35),
                                 color: "red", brand: "Lime", createdAt: sampleTime)
    static let activeRide = Ride(id: rideID, vehicleID: vehicleID, riderID: userID, city: "boston", region: "us-east1",
                                 startLocation: Location(latitude: 42.36, longitude: -71.06), startTime: sampleTime,
                                 currency: "USD")
    static let endedRide = Ride(id: rideID, vehicleID: vehicleID, riderID: userID, city: "boston", region: "us-east1",
                                startLocation: Location(latitude: 42.36, longitude: -71.06),
                                endLocation: Location(latitude: 42.35, longitude: -71.05), startTime: sampleTime,
                                endTime: laterTime, durationSeconds: 725, revenue: "4.25", currency: "USD",
                                promoCode: "WELCOME10")
    static let promo = PromoCode(code: "WELCOME10", description: "10% off", percentOff: 10, expiresAt: laterTime,
                                 createdAt: sampleTime)

    func expectSame<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = try JSONSerialization.jsonObject(with: Data(try JSONByteEncoder.encode(value))) as? NSObject
        let theirs = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(value)) as? NSObject
        #expect(ours != nil && ours == theirs, sourceLocation: sourceLocation)
    }

    @Test func objectsAndResultsMatchTheirCodableShape() throws {
        try expectSame(Self.user)
        try expectSame(UserResult(user: Self.user))
        try expectSame(AuthLoginResult(token: "s3cr3t-token", expiresAt: laterTime, user: Self.user))
        try expectSame(Self.vehicle)
        try expectSame(VehicleResult(vehicle: Self.vehicle))
        try expectSame(VehiclesListResult(vehicles: [Self.vehicle, Self.vehicle], nextCursor: "AQAB"))
        try expectSame(VehiclesListResult(vehicles: [], nextCursor: nil))
        try expectSame(Self.activeRide)
        try expectSame(RideResult(ride: Self.endedRide))
        try expectSame(RidesListResult(rides: [Self.activeRide, Self.endedRide], nextCursor: nil))
        try expectSame(Self.promo)
        try expectSame(PromoCodesListResult(promoCodes: [Self.promo]))
        try expectSame(UserPromoCodeResult(userPromoCode: UserPromoCode(userID: userID, code: "WELCOME10", appliedAt: sampleTime)))
        let newYork = CityInfo(city: "new york", region: "us-east1", latitude: 40.7128, longitude: -74.006, radiusKm: 20)
        try expectSame(CitiesListResult(cities: [newYork], regions: ["us-east1"], gatewayRegion: "us-east1",
                                        location: ClientLocationInfo(city: nil, region: "us-east1", source: "gateway")))
        try expectSame(CitiesListResult(cities: [newYork], regions: ["us-east1"], gatewayRegion: "us-west1",
                                        location: ClientLocationInfo(city: "new york", region: "us-east1", source: "x_city")))
        // Internal params the gateway sends on every list.
        try expectSame(InternalVehiclesListParams(city: "new york", limit: 25, cursor: nil))
        try expectSame(InternalVehiclesListParams(city: "são \"paulo\"", limit: 100, cursor: "AQAB"))
        // Internal params and the session result of every signed-in call and ride (written by hand).
        try expectSame(SessionTokenParams(token: "aB3-_x\\\"y"))
        try expectSame(SessionTokensParams(tokens: ["aB3-_x\\\"y", "t2"]))
        try expectSame(SessionsResult(sessions: [.valid(SessionResult(user: Self.user, roles: ["rider"], expiresAt: laterTime)),
                                                 .refused(reason: "token_expired"), .refused(reason: "invalid_token")]))
        try expectSame(SessionResult(user: Self.user, roles: ["rider", "admin"], expiresAt: laterTime))
        try expectSame(SessionResult(user: Self.user, roles: [], expiresAt: Date(timeIntervalSinceReferenceDate: 0.123_456_789)))
        try expectSame(InternalRidesStartParams(idempotencyKey: "key-1", riderID: userID, vehicleID: vehicleID))
        try expectSame(InternalRidesEndParams(rideID: rideID, riderID: userID, location: Location(latitude: 42.35, longitude: -71.05),
                                              battery: 80))
        try expectSame(InternalRidesEndParams(rideID: rideID, riderID: userID, location: Location(latitude: 0, longitude: -0.5),
                                              battery: nil))
        try expectSame(ReserveVehicleParams(vehicleID: vehicleID, rideID: rideID, riderID: userID))
        try expectSame(ReserveVehicleParams(vehicleID: vehicleID, rideID: rideID, riderID: nil))
        try expectSame(ReleaseVehicleParams(vehicleID: vehicleID, rideID: rideID, location: Location(latitude: 1.5, longitude: 2),
                                            battery: 0))
        try expectSame(ReleaseVehicleParams(vehicleID: vehicleID, rideID: rideID, location: nil, battery: nil))
    }

    /// The hand-written writers must be what the encoder uses (not the `Codable` walk), and ids
    /// keep `UUID`'s own spelling there.
    @Test func internalParamsTakeTheirOwnWriter() throws {
        let params = ReserveVehicleParams(vehicleID: vehicleID, rideID: rideID, riderID: nil)
        #expect((params as Any) is any JSONByteWritable)
        #expect((SessionResult(user: Self.user, roles: [], expiresAt: laterTime) as Any) is any JSONByteWritable)
        let text = String(decoding: try JSONByteEncoder.encode(params), as: UTF8.self)
        #expect(text == #"{"vehicle_id":"\#(vehicleID.uuidString)","ride_id":"\#(rideID.uuidString)"}"#)
    }

    @Test func nullableMembersStayPresentAsNull() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try JSONByteEncoder.encode(Self.activeRide)))
            as? [String: Any])
        for key in ["end_location", "end_time", "duration_seconds", "revenue", "promo_code"] {
            #expect(json[key] is NSNull, "\(key) must be present as null")
        }
        let vehicle = try #require(try JSONSerialization.jsonObject(with: Data(try JSONByteEncoder.encode(Self.vehicle)))
            as? [String: Any])
        #expect(vehicle["owner_id"] is NSNull)
        #expect(vehicle["id"] as? String == "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9")
    }
}

@Suite("RFC 3339 written into bytes")
struct RFC3339WriterTests {
    @Test func writesWhatStringFromWrites() throws {
        var seconds: [Double] = [0, -0.0005, 0.0005, 1_795_797_002.123_4, -62_167_219_200, -62_167_219_201,
                                 253_402_300_799.999, 253_402_300_800, 1e300, -1e300, .infinity, -.infinity, .nan]
        for step in stride(from: -62_000_000_000.0, to: 253_000_000_000.0, by: 7_654_321_987.654_3) { seconds.append(step) }
        for value in seconds {
            let date = Date(timeIntervalSince1970: value)
            var writer = JSONByteWriter()
            RFC3339.write(date, into: &writer)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == "\"\(RFC3339.string(from: date))\"", "\(value)")
        }
    }
}
