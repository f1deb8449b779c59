import MovRPostgres

/// The vehicles service's own schema in `movr_vehicles`. Column names follow the API's fields.
public enum VehiclesSchema {
    /// Where each table's rows live on CockroachDB (`movr migrate --dialect cockroach` gathers
    /// these; docs/architecture.md §6): `byCity` tables are REGIONAL BY ROW in their city's
    /// region, `byInsertRegion` tables (no city) REGIONAL BY ROW in the region that inserted the
    /// row, `global` tables GLOBAL. Every table of the migrations is in exactly one list.
    public static let cockroachLocalities: (byCity: [String], byInsertRegion: [String], global: [String]) = (
        byCity: ["vehicles", "vehicle_location_histories"], byInsertRegion: [], global: [])

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "vehicles", sql: """
            CREATE TABLE vehicles (
                id uuid PRIMARY KEY,
                city text NOT NULL,
                region text NOT NULL,
                type text NOT NULL CHECK (type IN ('scooter', 'bike', 'skateboard')),
                owner_id uuid NOT NULL,
                status text NOT NULL CHECK (status IN ('available', 'in_use', 'removed')),
                battery integer NOT NULL CHECK (battery BETWEEN 0 AND 100),
                latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
                longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
                color text NOT NULL,
                brand text NOT NULL,
                current_ride_id uuid,
                reserved_at timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                -- in_use exactly when a ride holds the vehicle (docs/architecture.md §2 invariant 2, this side)
                CONSTRAINT vehicles_in_use_has_ride CHECK ((status = 'in_use') = (current_ride_id IS NOT NULL))
            );
            -- one vehicle per ride
            CREATE UNIQUE INDEX vehicles_current_ride ON vehicles (current_ride_id) WHERE current_ride_id IS NOT NULL;
            -- the hot path: available vehicles of a city, in a stable keyset order
            CREATE INDEX vehicles_available_by_city ON vehicles (city, created_at, id) WHERE status = 'available';
            CREATE INDEX vehicles_region_city ON vehicles (region, city);
            CREATE INDEX vehicles_owner ON vehicles (owner_id);

            CREATE TABLE vehicle_location_histories (
                id bigserial PRIMARY KEY,
                vehicle_id uuid NOT NULL REFERENCES vehicles (id),
                city text NOT NULL,
                region text NOT NULL,
                ride_id uuid,
                latitude double precision NOT NULL,
                longitude double precision NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX vehicle_location_histories_by_vehicle
                ON vehicle_location_histories (vehicle_id, recorded_at DESC, id DESC);
            """),
        // Who rides a vehicle in use: the positions of a ride in progress are the rider's to see.
        Migration(version: 2, name: "vehicles current rider", sql: """
            ALTER TABLE vehicles ADD COLUMN current_rider_id uuid;
            """),
    ]
}
