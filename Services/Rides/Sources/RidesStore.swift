import FoundationEssentials
import MovRAPI
import MovRInternalAPI
import MovRPostgres

/// All SQL of the rides service over `movr_rides`, with no knowledge of RPC or other services,
/// so every statement can be tested against a real PostgreSQL alone.
///
/// Each operation is one statement (one round trip): CTEs combine the check, the write, the
/// side rows (claims, outbox, promo use) and the read-back.
public struct RidesStore: Sendable {
    public let database: PostgresClient
    public let tariffs: RideTariffs

    public init(database: PostgresClient, tariffs: RideTariffs) {
        self.database = database
        self.tariffs = tariffs
    }

    /// Columns of `rides` as the API's `Ride` needs them; valid over any relation with the
    /// table's columns (the table itself or a CTE's `RETURNING *`).
    static let rideColumns = """
        id, vehicle_id, rider_id, city, region, status, start_latitude, start_longitude, \
        end_latitude, end_longitude, start_time, end_time, revenue::text AS revenue, currency, promo_code, \
        floor(extract(epoch FROM (end_time - start_time)))::bigint AS duration_seconds
        """

    static func ride(from row: PostgresRow) throws -> Ride {
        var endLocation: Location?
        if let latitude = try row.decode("end_latitude", as: Double?.self),
           let longitude = try row.decode("end_longitude", as: Double?.self) {
            endLocation = Location(latitude: latitude, longitude: longitude)
        }
        // numeric(12,2) already prints two places; re-rendering pins the API's exact shape.
        let revenue = try row.decode("revenue", as: String?.self).map { DecimalMoney.cents($0).map(DecimalMoney.string) ?? $0 }
        return Ride(
            id: try row.decode("id", as: UUID.self),
            vehicleID: try row.decode("vehicle_id", as: UUID.self),
            riderID: try row.decode("rider_id", as: UUID.self),
            city: try row.decode("city", as: String.self),
            region: try row.decode("region", as: String.self),
            startLocation: Location(latitude: try row.decode("start_latitude", as: Double.self),
                                    longitude: try row.decode("start_longitude", as: Double.self)),
            endLocation: endLocation,
            startTime: try row.decode("start_time", as: Date.self),
            endTime: try row.decode("end_time", as: Date?.self),
            durationSeconds: try row.decode("duration_seconds", as: Int?.self),
            revenue: revenue,
            currency: try row.decode("currency", as: String.self),
            promoCode: try row.decode("promo_code", as: String?.self))
    }

    // MARK: Reads

    /// The rider's own ride; nil for a ride that does not exist or belongs to someone else.
    public func ride(id: UUID, riderID: UUID) async throws -> Ride? {
        let rows = try await database.query("""
            SELECT \(unsafeSQL: Self.rideColumns) FROM rides WHERE id = \(id) AND rider_id = \(riderID)
            """)
        return try rows.first.map(Self.ride(from:))
    }

    /// A page of the rider's rides, newest first, keyset-paginated on `(start_time, id)`.
    public func rides(riderID: UUID, activeOnly: Bool, limit: Int, after cursor: PageCursor?)
        async throws -> (rides: [Ride], next: PageCursor?) {
        let rows = try await database.query(Self.riderRidesQuery(riderID: riderID, activeOnly: activeOnly, limit: limit,
                                                                 after: cursor))
        let page = PageCursor.page(try rows.map(Self.ride(from:)), limit: limit) { ($0.startTime, $0.id) }
        return (page.items, page.next)
    }

    /// A page of the rider's rides, newest first. Riders' histories run from none to thousands
    /// of rides, so it is planned for this rider's id each time (a generic plan, costed for an
    /// average rider, read and sorted a heavy rider's whole history; ``PostgresQuery/plansEachExecution``).
    static func riderRidesQuery(riderID: UUID, activeOnly: Bool, limit: Int, after cursor: PageCursor?) -> PostgresQuery {
        let status: String? = activeOnly ? "active" : nil
        let query: PostgresQuery
        if let cursor {
            query = """
                SELECT \(unsafeSQL: rideColumns) FROM rides
                WHERE rider_id = \(riderID) AND (\(status)::text IS NULL OR status = \(status)::text)
                  AND (start_time, id) < (\(cursor.time), \(cursor.id))
                ORDER BY start_time DESC, id DESC LIMIT \(limit + 1)
                """
        } else {
            query = """
                SELECT \(unsafeSQL: rideColumns) FROM rides
                WHERE rider_id = \(riderID) AND (\(status)::text IS NULL OR status = \(status)::text)
                ORDER BY start_time DESC, id DESC LIMIT \(limit + 1)
                """
        }
        return query.plannedEachExecution()
    }

    public func hasActiveRide(riderID: UUID) async throws -> Bool {
        let rows = try await database.query("""
            SELECT EXISTS (SELECT 1 FROM rides WHERE rider_id = \(riderID) AND status = 'active') AS active
            """)
        return try rows.first?.decode("active", as: Bool.self) ?? false
    }

    /// Every active ride of every region, for the operator's consistency check.
    public func activeRides() async throws -> [ActiveRideSummary] {
        let rows = try await database.query("""
            SELECT id, vehicle_id, rider_id, status FROM rides WHERE status = 'active' ORDER BY start_time, id
            """)
        return try rows.map { row in
            ActiveRideSummary(rideID: try row.decode("id", as: UUID.self),
                              vehicleID: try row.decode("vehicle_id", as: UUID.self),
                              riderID: try row.decode("rider_id", as: UUID.self),
                              status: try row.decode("status", as: String.self))
        }
    }
}
