import FoundationEssentials
import MovRAPI
import MovRPostgres
import MovRRPC

/// The vehicle release an ended ride owes the vehicles service, as kept in the outbox.
public struct ReleaseVehicleEffect: Codable, Sendable, Equatable {
    public var vehicleID: UUID
    public var latitude: Double
    public var longitude: Double
    public var battery: Int?

    enum CodingKeys: String, CodingKey {
        case vehicleID = "vehicle_id"
        case latitude, longitude, battery
    }

    public init(vehicleID: UUID, latitude: Double, longitude: Double, battery: Int?) {
        self.vehicleID = vehicleID
        self.latitude = latitude
        self.longitude = longitude
        self.battery = battery
    }

    /// The effect an outbox row's `payload` (jsonb, as PostgreSQL prints it) holds, read with
    /// the project's parser and decoder (Foundation's `JSONDecoder` costs several times more and
    /// parses the vehicle id with `sscanf`). The relay reads it for each entry it leases;
    /// `rides.end` takes the same effect from the ended ride's row instead.
    static func decode(payload: PostgresJSON) throws -> ReleaseVehicleEffect {
        try JSONValue.parse(payload.rawValue.utf8).decode(as: ReleaseVehicleEffect.self, strict: false)
    }
}

/// A ride that was just ended, with the outbox entry that will free its vehicle.
public struct EndedRide: Sendable, Equatable {
    public var ride: Ride
    public var vehicleType: String
    /// The discount applied, when a promo code was used.
    public var percentOff: Int?
    public var outboxID: Int64
    public var release: ReleaseVehicleEffect
}

public enum EndRideOutcome: Sendable, Equatable {
    case ended(EndedRide)
    /// No such ride of this rider (another rider's ride looks the same: never revealed).
    case notFound
    case alreadyEnded
}

public enum RideLocationOutcome: Sendable, Equatable {
    case recorded(vehicleID: UUID)
    case notFound
    case alreadyEnded
}

/// A due entry of the outbox, leased to the caller for ``RidesStore/outboxLease``.
public struct OutboxEntry: Sendable, Equatable {
    public var id: Int64
    public var rideID: UUID
    public var attempts: Int
    public var release: ReleaseVehicleEffect

    public init(id: Int64, rideID: UUID, attempts: Int, release: ReleaseVehicleEffect) {
        self.id = id
        self.rideID = rideID
        self.attempts = attempts
        self.release = release
    }
}

extension RidesStore {
    /// How long an outbox entry is left to the path that wrote it (or leased it) before the
    /// relay may deliver it: the default deadline of an internal call. A delivery twice is
    /// harmless (release is idempotent per ride id); the lease only avoids wasted calls.
    public static let outboxLease: Duration = .seconds(10)

    /// Ends the rider's active ride in one statement: end time and place, the price from the
    /// tariffs minus the rider's best unexpired unused promo code (marked used by this ride),
    /// and an outbox entry to release the vehicle.
    ///
    /// This statement is the only place a fare is computed (``RideTariffs`` feeds it the table):
    /// unlock + per-minute x started minutes, where the duration is taken in whole microseconds;
    /// the discount is rounded half up to the minor unit and the fare is never below zero. End
    /// time is never before start time, even across database nodes' clocks.
    public func endRide(id rideID: UUID, riderID: UUID, location: Location, battery: Int?) async throws -> EndRideOutcome {
        let rows = try await database.query("""
            WITH promo AS (
                SELECT u.code, p.percent_off FROM user_promo_codes u JOIN promo_codes p ON p.code = u.code
                WHERE u.user_id = \(riderID) AND u.used_at IS NULL AND p.expires_at > now()
                ORDER BY p.percent_off DESC, u.applied_at, u.code
                LIMIT 1
            ), target AS (
                SELECT id, start_time, GREATEST(now(), start_time) AS end_time,
                       \(tariffs.document)::jsonb -> region -> vehicle_type AS tariff
                FROM rides WHERE id = \(rideID) AND rider_id = \(riderID) AND status = 'active'
            ), priced AS (
                SELECT id, end_time,
                       (tariff ->> 'unlock')::bigint + (tariff ->> 'per_minute')::bigint
                           * ((round(extract(epoch FROM (end_time - start_time)) * 1000000)::bigint + 59999999) / 60000000)
                           AS total,
                       COALESCE((SELECT percent_off FROM promo), 0)::bigint AS percent_off
                FROM target
            ), ended AS (
                UPDATE rides r SET status = 'ended', end_time = p.end_time,
                    end_latitude = \(location.latitude), end_longitude = \(location.longitude),
                    revenue = (GREATEST(p.total - (p.total * p.percent_off + 50) / 100, 0)::numeric / 100)::numeric(12, 2),
                    promo_code = (SELECT code FROM promo)
                FROM priced p
                WHERE r.id = p.id AND r.status = 'active'
                RETURNING r.*
            ), used AS (
                UPDATE user_promo_codes SET used_at = now(), ride_id = \(rideID)
                WHERE user_id = \(riderID) AND code = (SELECT promo_code FROM ended) AND used_at IS NULL
            ), queued AS (
                INSERT INTO outbox (ride_id, kind, payload, next_attempt_at)
                SELECT id, 'release_vehicle',
                       jsonb_build_object('vehicle_id', vehicle_id, 'latitude', end_latitude, 'longitude', end_longitude,
                                          'battery', \(battery)::int),
                       now() + \(Int(Self.outboxLease.components.seconds)) * interval '1 second'
                FROM ended
                RETURNING id
            )
            SELECT 'ended' AS outcome, \(unsafeSQL: Self.rideColumns), vehicle_type,
                   (SELECT percent_off FROM promo) AS percent_off,
                   (SELECT id FROM queued) AS outbox_id
            FROM ended
            UNION ALL
            -- In this statement's snapshot a ride ended concurrently may still look active.
            SELECT 'not_updated', \(unsafeSQL: Self.rideColumns), vehicle_type, NULL, NULL
            FROM rides WHERE id = \(rideID) AND rider_id = \(riderID) AND NOT EXISTS (SELECT 1 FROM ended)
            """)
        guard let row = rows.first else { return .notFound }
        guard try row.decode("outcome", as: String.self) == "ended" else { return .alreadyEnded }
        let percentOff = try row.decode("percent_off", as: Int?.self)
        let ride = try Self.ride(from: row)
        // The outbox's payload is built from this row (its vehicle and end position) and the
        // battery given, so the release is taken from the ride as read rather than parsed back
        // from the jsonb (2.3 % of the rides service's profile samples in the ride cycle).
        guard let end = ride.endLocation else {
            throw PostgresError(code: .decoding, serverMessage: "an ended ride without its end location")
        }
        return .ended(EndedRide(
            ride: ride,
            vehicleType: try row.decode("vehicle_type", as: String.self),
            percentOff: ride.promoCode == nil ? nil : percentOff,
            outboxID: try row.decode("outbox_id", as: Int64.self),
            release: ReleaseVehicleEffect(vehicleID: ride.vehicleID, latitude: end.latitude, longitude: end.longitude,
                                          battery: battery)))
    }

    /// Appends a position to the rider's active ride; tells which vehicle to move.
    public func recordLocation(rideID: UUID, riderID: UUID, location: Location) async throws -> RideLocationOutcome {
        let rows = try await database.query("""
            WITH ride AS (
                SELECT id, vehicle_id, status, city, region FROM rides WHERE id = \(rideID) AND rider_id = \(riderID)
            ), recorded AS (
                INSERT INTO ride_locations (ride_id, city, region, latitude, longitude)
                SELECT id, city, region, \(location.latitude), \(location.longitude) FROM ride WHERE status = 'active'
                RETURNING id
            )
            SELECT vehicle_id, status, (SELECT count(*) FROM recorded) AS recorded FROM ride
            """)
        guard let row = rows.first else { return .notFound }
        guard try row.decode("recorded", as: Int.self) > 0 else { return .alreadyEnded }
        return .recorded(vehicleID: try row.decode("vehicle_id", as: UUID.self))
    }

    // MARK: Outbox

    /// Leases up to `limit` due entries (pushing their next attempt out by ``outboxLease``) so
    /// concurrent relays do not deliver the same entry at the same time.
    public func leaseDueOutbox(limit: Int) async throws -> [OutboxEntry] {
        let rows = try await database.query("""
            UPDATE outbox SET attempts = attempts + 1,
                next_attempt_at = now() + \(Int(Self.outboxLease.components.seconds)) * interval '1 second'
            WHERE id IN (SELECT id FROM outbox WHERE next_attempt_at <= now() ORDER BY next_attempt_at LIMIT \(limit))
              AND next_attempt_at <= now()
            RETURNING id, ride_id, attempts, payload
            """)
        return try rows.map { row in
            OutboxEntry(id: try row.decode("id", as: Int64.self),
                        rideID: try row.decode("ride_id", as: UUID.self),
                        attempts: try row.decode("attempts", as: Int.self),
                        release: try ReleaseVehicleEffect.decode(payload: row.decode("payload", as: PostgresJSON.self)))
        }
    }

    /// Removes a delivered entry.
    public func deleteOutbox(id: Int64) async throws {
        try await deleteOutbox(ids: [id])
    }

    /// Removes delivered entries, in one statement.
    public func deleteOutbox(ids: [Int64]) async throws {
        // An int8[] literal bound as text: digits and commas only.
        let list = "{" + ids.map(String.init).joined(separator: ",") + "}"
        _ = try await database.query("DELETE FROM outbox WHERE id = ANY(\(list)::int8[])")
    }

    /// Schedules the next delivery attempt of an entry whose delivery just failed.
    public func retryOutbox(id: Int64, after delay: Duration) async throws {
        let milliseconds = Int(delay.components.seconds) * 1000 + Int(delay.components.attoseconds / 1_000_000_000_000_000)
        _ = try await database.query("""
            UPDATE outbox SET next_attempt_at = now() + \(milliseconds) * interval '1 millisecond'
            WHERE id = \(id)
            """)
    }
}
