import FoundationEssentials
import MovRAPI
import MovRPostgres

/// What is already known about a ride id and its rider before a start reserves anything.
public enum StartPrecheck: Sendable, Equatable {
    /// Nothing yet: go ahead and reserve.
    case clear
    /// The same rider already started this ride (a retried request): answer with it.
    case existing(Ride)
    /// The id belongs to another rider's ride: an idempotency key collision.
    case idOfAnotherRider
    /// The id was cancelled (tombstoned) with this reason; retries get the same answer.
    case cancelled(reason: String)
    /// The rider has another active ride.
    case riderHasActiveRide
}

/// A ride about to be recorded, with the facts the reserved vehicle supplied.
public struct NewRide: Sendable, Equatable {
    public var id: UUID
    public var riderID: UUID
    public var vehicleID: UUID
    public var vehicleType: String
    public var city: String
    public var region: String
    public var startLocation: Location
    public var currency: String

    public init(id: UUID, riderID: UUID, vehicleID: UUID, vehicleType: String, city: String, region: String,
                startLocation: Location, currency: String) {
        self.id = id
        self.riderID = riderID
        self.vehicleID = vehicleID
        self.vehicleType = vehicleType
        self.city = city
        self.region = region
        self.startLocation = startLocation
        self.currency = currency
    }
}

/// How recording a started ride went.
public enum RideInsertOutcome: Sendable, Equatable {
    case inserted(Ride)
    /// A concurrent request with the same ride id recorded it first.
    case alreadyRecorded
    /// The id was cancelled first (by the reconciler or a compensation).
    case cancelled(reason: String)
    /// The database refused a second active ride for the rider.
    case riderHasActiveRide
    /// The database refused a second active ride for the vehicle.
    case vehicleHasActiveRide
}

/// Who holds a ride id after a cancellation attempt.
public enum CancelOutcome: Sendable, Equatable {
    /// The id is (now or already) a tombstone: no ride can ever be recorded under it.
    case cancelled
    /// A ride was recorded under the id first; nothing was cancelled.
    case started
}

extension RidesStore {
    /// Everything the start flow must know before reserving, in one round trip.
    public func precheckStart(rideID: UUID, riderID: UUID) async throws -> StartPrecheck {
        let rows = try await database.query("""
            SELECT c.outcome AS claim, c.reason AS claim_reason,
                   r.rider_id AS ride_rider_id,
                   EXISTS (SELECT 1 FROM rides WHERE rider_id = \(riderID) AND status = 'active') AS rider_busy
            FROM (SELECT 1) AS one
            LEFT JOIN ride_claims c ON c.ride_id = \(rideID)
            LEFT JOIN rides r ON r.id = \(rideID)
            """)
        guard let row = rows.first else { return .clear }
        if let owner = try row.decode("ride_rider_id", as: UUID?.self) {
            guard owner == riderID else { return .idOfAnotherRider }
            // Read the ride in full only on this (retry) path.
            guard let ride = try await ride(id: rideID, riderID: riderID) else { return .idOfAnotherRider }
            return .existing(ride)
        }
        if try row.decode("claim", as: String?.self) == "cancelled" {
            return .cancelled(reason: try row.decode("claim_reason", as: String?.self) ?? "vehicle_unavailable")
        }
        if try row.decode("rider_busy", as: Bool.self) {
            return .riderHasActiveRide
        }
        return .clear
    }

    /// Claims the ride id for a start and inserts the ride, atomically: either both or neither.
    ///
    /// The claim decides races with a canceller (`cancelRide`) through the claim's primary key,
    /// so this holds under READ COMMITTED as under SERIALIZABLE, in one round trip. A conflicting
    /// claim is read back with `DO UPDATE` (a no-op change) because that sees the latest
    /// committed row, which a plain read in this statement's snapshot might not.
    public func insertStartedRide(_ ride: NewRide) async throws -> RideInsertOutcome {
        let rows: PostgresRows
        do {
            rows = try await database.query("""
                WITH claim AS (
                    INSERT INTO ride_claims (ride_id, region, outcome)
                    VALUES (\(ride.id), \(ride.region), 'started')
                    ON CONFLICT (ride_id) DO UPDATE SET outcome = ride_claims.outcome
                    RETURNING outcome, reason
                ), inserted AS (
                    INSERT INTO rides (id, city, region, vehicle_id, vehicle_type, rider_id, status,
                                       start_latitude, start_longitude, currency)
                    SELECT \(ride.id), \(ride.city), \(ride.region), \(ride.vehicleID), \(ride.vehicleType),
                           \(ride.riderID), 'active', \(ride.startLocation.latitude), \(ride.startLocation.longitude),
                           \(ride.currency)
                    FROM claim WHERE claim.outcome = 'started'
                    ON CONFLICT (id) DO NOTHING
                    RETURNING *
                )
                SELECT claim.outcome AS claim, claim.reason AS claim_reason, \(unsafeSQL: Self.rideColumns)
                FROM claim LEFT JOIN inserted ON true
                """)
        } catch let error as PostgresError where error.isUniqueViolation {
            switch error.constraintName {
            case "rides_one_active_per_rider": return .riderHasActiveRide
            case "rides_one_active_per_vehicle": return .vehicleHasActiveRide
            default: throw error
            }
        }
        guard let row = rows.first else { throw RidesStoreError.unexpectedEmptyResult }
        if try row.decode("id", as: UUID?.self) != nil {
            return .inserted(try Self.ride(from: row))
        }
        if try row.decode("claim", as: String.self) == "cancelled" {
            return .cancelled(reason: try row.decode("claim_reason", as: String?.self) ?? "vehicle_unavailable")
        }
        return .alreadyRecorded
    }

    /// Tombstones `rideID` unless a ride was recorded under it first. Idempotent.
    public func cancelRide(id rideID: UUID, region: String, reason: String) async throws -> CancelOutcome {
        let rows = try await database.query("""
            INSERT INTO ride_claims (ride_id, region, outcome, reason)
            VALUES (\(rideID), \(region), 'cancelled', \(reason))
            ON CONFLICT (ride_id) DO UPDATE SET outcome = ride_claims.outcome
            RETURNING outcome
            """)
        return try rows.first?.decode("outcome", as: String.self) == "cancelled" ? .cancelled : .started
    }
}

/// Failures of the store that are bugs or broken assumptions, never caller errors.
enum RidesStoreError: Error, CustomStringConvertible {
    case unexpectedEmptyResult

    var description: String {
        switch self {
        case .unexpectedEmptyResult: "a statement that always returns a row returned none"
        }
    }
}
