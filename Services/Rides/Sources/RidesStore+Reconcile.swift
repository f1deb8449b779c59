import FoundationEssentials
import MovRAPI
import MovRPostgres

/// What the rides database says about a ride id that holds a vehicle.
public enum ReservedRideState: Sendable, Equatable {
    /// The ride is active: the reservation is right.
    case active
    /// The ride ended; `releasePending` when its outbox entry has not been delivered yet.
    case ended(endLocation: Location, releasePending: Bool)
    /// The id is a tombstone: the reservation must be undone.
    case cancelled
    /// No ride and no claim: either a start is still in flight or it died after reserving.
    case unknown
}

extension RidesStore {
    /// The state of each ride id, in one round trip.
    public func reservedRideStates(rideIDs: [UUID]) async throws -> [UUID: ReservedRideState] {
        guard !rideIDs.isEmpty else { return [:] }
        let rows = try await database.query("""
            SELECT ids.id, c.outcome AS claim, r.status, r.end_latitude, r.end_longitude,
                   EXISTS (SELECT 1 FROM outbox o WHERE o.ride_id = ids.id) AS release_pending
            FROM unnest(\(PostgresUUIDArray(rideIDs))::uuid[]) AS ids (id)
            LEFT JOIN ride_claims c ON c.ride_id = ids.id
            LEFT JOIN rides r ON r.id = ids.id
            """)
        var states: [UUID: ReservedRideState] = [:]
        for row in rows {
            let id = try row.decode("id", as: UUID.self)
            switch (try row.decode("status", as: String?.self), try row.decode("claim", as: String?.self)) {
            case ("active", _):
                states[id] = .active
            case ("ended", _):
                states[id] = .ended(
                    endLocation: Location(latitude: try row.decode("end_latitude", as: Double.self),
                                          longitude: try row.decode("end_longitude", as: Double.self)),
                    releasePending: try row.decode("release_pending", as: Bool.self))
            case (_, "cancelled"):
                states[id] = .cancelled
            default:
                states[id] = .unknown
            }
        }
        return states
    }
}
