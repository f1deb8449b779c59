import MovRPostgres

/// The rides service's own schema in `movr_rides`. Column names follow the API's fields.
public enum RidesSchema {
    /// Where each table's rows live on CockroachDB (`movr migrate --dialect cockroach` gathers
    /// these; docs/architecture.md §6): `byCity` tables are REGIONAL BY ROW in their city's
    /// region, `byInsertRegion` tables (no city) REGIONAL BY ROW in the region that inserted the
    /// row, `global` tables GLOBAL. Every table of the migrations is in exactly one list.
    public static let cockroachLocalities: (byCity: [String], byInsertRegion: [String], global: [String]) = (
        byCity: ["rides", "ride_locations"], byInsertRegion: ["ride_claims", "user_promo_codes", "outbox"],
        global: ["promo_codes"])

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "rides", sql: """
            CREATE TABLE rides (
                id uuid PRIMARY KEY,
                city text NOT NULL,
                region text NOT NULL,
                vehicle_id uuid NOT NULL,
                vehicle_type text NOT NULL,
                rider_id uuid NOT NULL,
                status text NOT NULL CHECK (status IN ('active', 'ended')),
                start_latitude double precision NOT NULL CHECK (start_latitude BETWEEN -90 AND 90),
                start_longitude double precision NOT NULL CHECK (start_longitude BETWEEN -180 AND 180),
                end_latitude double precision CHECK (end_latitude BETWEEN -90 AND 90),
                end_longitude double precision CHECK (end_longitude BETWEEN -180 AND 180),
                start_time timestamptz NOT NULL DEFAULT now(),
                end_time timestamptz,
                revenue numeric(12, 2),
                currency text NOT NULL,
                promo_code text,
                -- docs/architecture.md §2 invariant 3: an ended ride is complete and consistent.
                CONSTRAINT rides_end_after_start CHECK (end_time IS NULL OR end_time >= start_time),
                CONSTRAINT rides_revenue_not_negative CHECK (revenue IS NULL OR revenue >= 0),
                CONSTRAINT rides_status_matches_end CHECK (
                    (status = 'active' AND end_time IS NULL AND end_latitude IS NULL
                        AND end_longitude IS NULL AND revenue IS NULL)
                    OR (status = 'ended' AND end_time IS NOT NULL AND end_latitude IS NOT NULL
                        AND end_longitude IS NOT NULL AND revenue IS NOT NULL))
            );
            -- docs/architecture.md §2 invariant 1, enforced by the database itself.
            CREATE UNIQUE INDEX rides_one_active_per_vehicle ON rides (vehicle_id) WHERE status = 'active';
            CREATE UNIQUE INDEX rides_one_active_per_rider ON rides (rider_id) WHERE status = 'active';
            -- a rider's rides, newest first, in keyset order
            CREATE INDEX rides_by_rider ON rides (rider_id, start_time DESC, id DESC);
            CREATE INDEX rides_region_city ON rides (region, city);

            -- Who took a ride id first: the start flow ('started', together with the ride row)
            -- or a canceller ('cancelled': the reconciler or a compensation; a tombstone).
            -- Both sides insert here, so the unique key decides the race under any isolation
            -- level, and a late insert of a cancelled ride is impossible.
            CREATE TABLE ride_claims (
                ride_id uuid PRIMARY KEY,
                region text NOT NULL,
                outcome text NOT NULL CHECK (outcome IN ('started', 'cancelled')),
                reason text,
                created_at timestamptz NOT NULL DEFAULT now(),
                CONSTRAINT ride_claims_cancel_has_reason CHECK ((outcome = 'cancelled') = (reason IS NOT NULL))
            );

            CREATE TABLE ride_locations (
                id bigserial PRIMARY KEY,
                ride_id uuid NOT NULL REFERENCES rides (id),
                city text NOT NULL,
                region text NOT NULL,
                latitude double precision NOT NULL,
                longitude double precision NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX ride_locations_by_ride ON ride_locations (ride_id, recorded_at);

            -- GLOBAL in CockroachDB: read everywhere, written rarely.
            CREATE TABLE promo_codes (
                code text PRIMARY KEY,
                description text NOT NULL,
                percent_off integer NOT NULL CHECK (percent_off BETWEEN 1 AND 100),
                expires_at timestamptz NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                created_by uuid NOT NULL
            );

            CREATE TABLE user_promo_codes (
                user_id uuid NOT NULL,
                code text NOT NULL REFERENCES promo_codes (code),
                applied_at timestamptz NOT NULL DEFAULT now(),
                used_at timestamptz,
                ride_id uuid,
                PRIMARY KEY (user_id, code),
                CONSTRAINT user_promo_codes_used_by_ride CHECK ((used_at IS NULL) = (ride_id IS NULL))
            );

            -- Cross-service effects of committed ride changes, delivered at least once.
            CREATE TABLE outbox (
                id bigserial PRIMARY KEY,
                ride_id uuid NOT NULL,
                kind text NOT NULL CHECK (kind IN ('release_vehicle')),
                payload jsonb NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX outbox_due ON outbox (next_attempt_at);
            CREATE INDEX outbox_by_ride ON outbox (ride_id);
            """),
    ]
}
