import FoundationEssentials
import MovRAPI
import MovRInternalAPI
import MovRLocality
import MovRPostgres

/// All SQL of the vehicles service. Every operation is one statement (one round trip): CTEs
/// combine the write, the history row and the read-back. Errors meant for callers are
/// ``VehiclesError``s.
public struct VehiclesStore: Sendable {
    public let database: PostgresClient
    let locality: Locality

    /// CockroachDB only (`--follower-reads`): `vehicles.list` reads at
    /// `follower_read_timestamp()` (about 4.8 s old), which any replica in the caller's region
    /// can serve without a trip to the leaseholder. A vehicle added or freed since may be missing.
    public let followerReads: Bool

    public init(database: PostgresClient, locality: Locality, followerReads: Bool = false) {
        self.database = database
        self.locality = locality
        self.followerReads = followerReads
    }

    static let columns = "id, type, city, region, owner_id, status, battery, latitude, longitude, color, brand, current_ride_id, created_at"

    public func listAvailable(city: String, limit: Int, after cursor: PageCursor?) async throws -> (vehicles: [Vehicle], next: PageCursor?) {
        let page = try await availablePage(city: city, limit: limit, after: cursor)
        return (try page.vehicles(), page.next)
    }

    /// Up to `limit` of the city's available vehicles after `cursor`, oldest first, as the rows
    /// the database sent (`vehicles.list` writes them to JSON from there).
    public func availablePage(city: String, limit: Int, after cursor: PageCursor?) async throws -> VehiclesPage {
        let query: PostgresQuery
        if let cursor {
            query = """
                SELECT \(unsafeSQL: Self.columns) FROM vehicles\(unsafeSQL: Self.asOf(followerReads))
                WHERE status = 'available' AND city = \(city)
                  AND (created_at, id) > (\(cursor.time), \(cursor.id))
                ORDER BY created_at, id LIMIT \(limit + 1)
                """
        } else {
            query = Self.firstPageQuery(city: city, limit: limit, followerReads: followerReads)
        }
        return try VehiclesPage(rows: try await database.query(query.result(.binary)), limit: limit)
    }

    /// `ownerID`'s vehicles that are not removed (any city, any status), oldest first.
    public func listOwned(ownerID: UUID, limit: Int, after cursor: PageCursor?) async throws -> (vehicles: [Vehicle], next: PageCursor?) {
        let page = try await ownedPage(ownerID: ownerID, limit: limit, after: cursor)
        return (try page.vehicles(), page.next)
    }

    /// ``listOwned(ownerID:limit:after:)``'s page as the rows the database sent.
    public func ownedPage(ownerID: UUID, limit: Int, after cursor: PageCursor?) async throws -> VehiclesPage {
        let query: PostgresQuery
        if let cursor {
            query = """
                SELECT \(unsafeSQL: Self.columns) FROM vehicles
                WHERE owner_id = \(ownerID) AND status <> 'removed' AND (created_at, id) > (\(cursor.time), \(cursor.id))
                ORDER BY created_at, id LIMIT \(limit + 1)
                """
        } else {
            query = """
                SELECT \(unsafeSQL: Self.columns) FROM vehicles
                WHERE owner_id = \(ownerID) AND status <> 'removed'
                ORDER BY created_at, id LIMIT \(limit + 1)
                """
        }
        // Owners hold from one vehicle to whole fleets: planned for this owner (PostgresQuery).
        return try VehiclesPage(rows: try await database.query(query.result(.binary).plannedEachExecution()), limit: limit)
    }

    /// The hot path's SQL (first page of a city's available vehicles); `movr bench` runs this
    /// exact statement with pgbench beside the same operation through the gateway.
    public static func firstPageQuery(city: String, limit: Int, followerReads: Bool = false) -> PostgresQuery {
        """
        SELECT \(unsafeSQL: Self.columns) FROM vehicles\(unsafeSQL: asOf(followerReads))
        WHERE status = 'available' AND city = \(city)
        ORDER BY created_at, id LIMIT \(limit + 1)
        """
    }

    /// CockroachDB's bounded-staleness clause, after the FROM list.
    static func asOf(_ followerReads: Bool) -> String {
        followerReads ? " AS OF SYSTEM TIME follower_read_timestamp()" : ""
    }

    public func get(id: UUID) async throws -> Vehicle? {
        let query: PostgresQuery = "SELECT \(unsafeSQL: Self.columns) FROM vehicles WHERE id = \(id)"
        let rows = try await database.query(query.result(.binary))
        return try rows.first.map(Self.vehicle(from:))
    }

    /// A new vehicle's battery when its owner gives none: vehicles join the fleet charged.
    public static let defaultBattery = 100

    /// Inserts the vehicle under the id its owner's idempotency key names, so a retry with the
    /// same key returns the vehicle created the first time.
    public func add(_ params: InternalVehiclesAddParams) async throws -> Vehicle {
        let id = try IdempotentCreate.objectID(.vehicle, owner: params.ownerID, key: params.idempotencyKey)
        let battery = params.battery ?? Self.defaultBattery
        let region: String
        do {
            region = try locality.region(ofCity: params.city)
        } catch {
            throw VehiclesError.unknownCity
        }
        let city = PlaceName.normalized(params.city)
        let rows = try await database.query("""
            WITH inserted AS (
                INSERT INTO vehicles (id, city, region, type, owner_id, status, battery, latitude, longitude, color, brand)
                VALUES (\(id), \(city), \(region), \(params.type), \(params.ownerID), 'available',
                        \(battery), \(params.location.latitude), \(params.location.longitude), \(params.color), \(params.brand))
                ON CONFLICT (id) DO NOTHING
                RETURNING \(unsafeSQL: Self.columns)
            ), history AS (
                INSERT INTO vehicle_location_histories (vehicle_id, city, region, latitude, longitude)
                SELECT id, city, region, latitude, longitude FROM inserted
            )
            SELECT \(unsafeSQL: Self.columns) FROM inserted
            UNION ALL
            SELECT \(unsafeSQL: Self.columns) FROM vehicles WHERE id = \(id) AND NOT EXISTS (SELECT 1 FROM inserted)
            """)
        // A concurrent insert of the same id makes ours DO NOTHING, and the read-back branch
        // still sees the statement's snapshot from before that insert committed: read again.
        let found: Vehicle?
        if let first = rows.first {
            found = try Self.vehicle(from: first)
        } else {
            found = try await get(id: id)
        }
        guard let vehicle = found else {
            throw VehicleMissingAfterAdd()
        }
        guard vehicle.ownerID == params.ownerID else {
            throw VehiclesError.idempotencyKeyReused
        }
        return vehicle
    }

    /// Takes the vehicle out of service; only its owner may, and never during a ride.
    public func remove(id: UUID, ownerID: UUID) async throws -> Vehicle {
        let rows = try await database.query("""
            WITH removed AS (
                UPDATE vehicles SET status = 'removed', updated_at = now()
                WHERE id = \(id) AND owner_id = \(ownerID) AND status = 'available'
                RETURNING \(unsafeSQL: Self.columns)
            )
            SELECT \(unsafeSQL: Self.columns) FROM removed
            UNION ALL
            SELECT \(unsafeSQL: Self.columns) FROM vehicles WHERE id = \(id) AND NOT EXISTS (SELECT 1 FROM removed)
            """)
        guard let vehicle = try rows.first.map(Self.vehicle(from:)) else {
            throw VehiclesError.vehicleNotFound
        }
        guard vehicle.ownerID == ownerID else {
            throw VehiclesError.notVehicleOwner
        }
        if vehicle.status == .inUse {
            throw VehiclesError.vehicleInUse
        }
        return vehicle
    }

    /// What `viewerID` may see of the vehicle's recorded positions, newest first: its owner all
    /// of them except those of a ride in progress by someone else, the rider of the ride in
    /// progress that ride's. `.notFound` for an unknown vehicle, `.forbidden` for anyone else.
    public enum LocationHistoryOutcome: Sendable, Equatable {
        case records([LocationRecord])
        case notFound
        case forbidden
    }

    public func locationHistory(id: UUID, limit: Int, viewerID: UUID) async throws -> LocationHistoryOutcome {
        // A vehicle's history grows with every ride: planned for this vehicle (PostgresQuery).
        let query: PostgresQuery = """
            SELECT v.owner_id = \(viewerID) AS is_owner, v.current_rider_id = \(viewerID) AS is_rider,
                   h.latitude, h.longitude, h.recorded_at, h.ride_id
            FROM vehicles v LEFT JOIN LATERAL (
                SELECT latitude, longitude, recorded_at, ride_id FROM vehicle_location_histories
                WHERE vehicle_id = v.id
                  AND CASE WHEN v.current_ride_id IS NOT NULL AND ride_id = v.current_ride_id
                           THEN v.current_rider_id = \(viewerID)
                           ELSE v.owner_id = \(viewerID) END
                ORDER BY recorded_at DESC, id DESC LIMIT \(limit)
            ) h ON true
            WHERE v.id = \(id)
            """
        let rows = try await database.query(query.plannedEachExecution())
        guard let first = rows.first else { return .notFound }
        guard try first.decode("is_owner", as: Bool?.self) == true || first.decode("is_rider", as: Bool?.self) == true else {
            return .forbidden
        }
        return .records(try rows.compactMap { row -> LocationRecord? in
            guard let latitude = try row.decode("latitude", as: Double?.self),
                  let longitude = try row.decode("longitude", as: Double?.self),
                  let recordedAt = try row.decode("recorded_at", as: Date?.self) else { return nil }
            return LocationRecord(latitude: latitude, longitude: longitude, recordedAt: recordedAt,
                                  rideID: try row.decode("ride_id", as: UUID?.self))
        })
    }

    /// Holds the vehicle for `rideID`. Idempotent: the same ride gets the same answer again.
    public func reserve(vehicleID: UUID, rideID: UUID, riderID: UUID? = nil) async throws -> Vehicle {
        let rows = try await database.query("""
            WITH reserved AS (
                UPDATE vehicles SET status = 'in_use', current_ride_id = \(rideID), current_rider_id = \(riderID),
                    reserved_at = now(), updated_at = now()
                WHERE id = \(vehicleID) AND status = 'available'
                RETURNING \(unsafeSQL: Self.columns)
            ), history AS (
                INSERT INTO vehicle_location_histories (vehicle_id, city, region, ride_id, latitude, longitude)
                SELECT id, city, region, current_ride_id, latitude, longitude FROM reserved
            )
            SELECT \(unsafeSQL: Self.columns) FROM reserved
            UNION ALL
            SELECT \(unsafeSQL: Self.columns) FROM vehicles WHERE id = \(vehicleID) AND NOT EXISTS (SELECT 1 FROM reserved)
            """)
        guard let row = rows.first else {
            throw VehiclesError.vehicleNotFound
        }
        if try row.decode("current_ride_id", as: UUID?.self) == rideID {
            return try Self.vehicle(from: row)
        }
        // Read Committed re-checks the UPDATE against a concurrent reservation, but the read-back
        // branch sees the statement's older snapshot. When that reservation was for this same
        // ride (a concurrent retry), only a fresh read shows it: one more round trip, on the
        // conflict path only.
        let fresh = try await database.query("SELECT \(unsafeSQL: Self.columns) FROM vehicles WHERE id = \(vehicleID)")
        guard let current = fresh.first, try current.decode("current_ride_id", as: UUID?.self) == rideID else {
            throw VehiclesError.vehicleUnavailable
        }
        return try Self.vehicle(from: current)
    }

    /// Frees the vehicle held by `rideID`, at `location` with `battery` when given.
    /// Idempotent: once released (or held by nobody), returns the vehicle as it is.
    public func release(_ params: ReleaseVehicleParams) async throws -> Vehicle {
        let latitude = params.location?.latitude
        let longitude = params.location?.longitude
        let rows = try await database.query("""
            WITH released AS (
                UPDATE vehicles SET status = 'available', current_ride_id = NULL, current_rider_id = NULL, reserved_at = NULL,
                    latitude = COALESCE(\(latitude)::float8, latitude),
                    longitude = COALESCE(\(longitude)::float8, longitude),
                    battery = COALESCE(\(params.battery)::int, battery),
                    updated_at = now()
                WHERE id = \(params.vehicleID) AND current_ride_id = \(params.rideID)
                RETURNING \(unsafeSQL: Self.columns)
            ), history AS (
                INSERT INTO vehicle_location_histories (vehicle_id, city, region, ride_id, latitude, longitude)
                SELECT id, city, region, \(params.rideID), latitude, longitude FROM released
                WHERE \(latitude)::float8 IS NOT NULL
            )
            SELECT \(unsafeSQL: Self.columns) FROM released
            UNION ALL
            SELECT \(unsafeSQL: Self.columns) FROM vehicles WHERE id = \(params.vehicleID) AND NOT EXISTS (SELECT 1 FROM released)
            """)
        guard let vehicle = try rows.first.map(Self.vehicle(from:)) else {
            throw VehiclesError.vehicleNotFound
        }
        return vehicle
    }

    /// Appends a position of the vehicle's ride in progress to its history. The vehicle's public
    /// position (`vehicles.get`, `vehicles.list`) stays where the ride started until the ride
    /// ends: where someone is riding right now is theirs to see (`vehicles.location_history`).
    public func recordLocation(_ params: RecordVehicleLocationParams) async throws {
        let rows = try await database.query("""
            WITH moved AS (
                SELECT id, city, region FROM vehicles
                WHERE id = \(params.vehicleID) AND current_ride_id = \(params.rideID)
            )
            INSERT INTO vehicle_location_histories (vehicle_id, city, region, ride_id, latitude, longitude)
            SELECT id, city, region, \(params.rideID), \(params.location.latitude), \(params.location.longitude) FROM moved
            RETURNING vehicle_id
            """)
        guard rows.first != nil else {
            throw VehiclesError.rideNotActive
        }
    }

    /// Vehicles held by a ride: of `region` only when given (a REGIONAL BY ROW partition in
    /// CockroachDB, so a region's reconciler reads only its own rows), held since before
    /// `reservedBefore` when given.
    public func reservations(region: String? = nil, reservedBefore: Date? = nil) async throws -> [VehicleReservation] {
        let rows = try await database.query("""
            SELECT id, current_ride_id, region, reserved_at FROM vehicles
            WHERE status = 'in_use'
              AND (\(region)::text IS NULL OR region = \(region)::text)
              AND (\(reservedBefore)::timestamptz IS NULL OR reserved_at < \(reservedBefore)::timestamptz)
            ORDER BY reserved_at
            """)
        return try rows.map { row in
            VehicleReservation(vehicleID: try row.decode("id", as: UUID.self),
                               rideID: try row.decode("current_ride_id", as: UUID.self),
                               region: try row.decode("region", as: String.self),
                               reservedAt: try row.decode("reserved_at", as: Date.self))
        }
    }

    /// Where each of a vehicle's columns sits in a result, looked up by name once per result:
    /// a page of rows is then decoded by position, with no name lookup per value.
    struct Layout: Sendable {
        let id, type, city, region, ownerID, status, battery, latitude, longitude, color, brand, createdAt: Int

        init(_ columns: [PostgresColumn]) throws {
            func at(_ name: String) throws -> Int {
                guard let index = columns.firstIndex(where: { $0.name == name }) else {
                    throw PostgresError(code: .decoding, serverMessage: "no column \(name) in a vehicles result")
                }
                return index
            }
            (id, type, city, region, ownerID, status) = (try at("id"), try at("type"), try at("city"), try at("region"),
                                                         try at("owner_id"), try at("status"))
            (battery, latitude, longitude, color, brand, createdAt) = (try at("battery"), try at("latitude"),
                                                                       try at("longitude"), try at("color"),
                                                                       try at("brand"), try at("created_at"))
        }
    }

    static func vehicle(from row: PostgresRow) throws -> Vehicle {
        try vehicle(from: row, Layout(row.columns))
    }

    static func vehicle(from row: PostgresRow, _ layout: Layout) throws -> Vehicle {
        let type = try row.decode(at: layout.type, as: String.self)
        let status = try row.decode(at: layout.status, as: String.self)
        guard let vehicleType = VehicleType(rawValue: type), let vehicleStatus = VehicleStatus(rawValue: status) else {
            throw PostgresError(code: .decoding, serverMessage: "unexpected vehicle type or status")
        }
        return Vehicle(
            id: try row.decode(at: layout.id, as: UUID.self),
            type: vehicleType,
            city: try row.decode(at: layout.city, as: String.self),
            region: try row.decode(at: layout.region, as: String.self),
            ownerID: try row.decode(at: layout.ownerID, as: UUID?.self),
            status: vehicleStatus,
            battery: try row.decode(at: layout.battery, as: Int.self),
            location: Location(latitude: try row.decode(at: layout.latitude, as: Double.self),
                               longitude: try row.decode(at: layout.longitude, as: Double.self)),
            color: try row.decode(at: layout.color, as: String.self),
            brand: try row.decode(at: layout.brand, as: String.self),
            createdAt: try row.decode(at: layout.createdAt, as: Date.self))
    }
}
