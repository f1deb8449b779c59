import MovRPostgres

/// The users service's own schema in `movr_users`. Column names follow the API's fields.
public enum UsersSchema {
    /// Where each table's rows live on CockroachDB (`movr migrate --dialect cockroach` gathers
    /// these; docs/architecture.md §6): `byCity` tables are REGIONAL BY ROW in their city's
    /// region, `byInsertRegion` tables (no city) REGIONAL BY ROW in the region that inserted the
    /// row, `global` tables GLOBAL. Every table of the migrations is in exactly one list.
    public static let cockroachLocalities: (byCity: [String], byInsertRegion: [String], global: [String]) = (
        byCity: ["users"], byInsertRegion: ["sessions"], global: [])

    /// Name of the unique constraint on `users.username`: a violation of it is `username_taken`.
    public static let usernameConstraint = "users_username_unique"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "users_and_sessions", sql: """
            CREATE TABLE users (
                id uuid PRIMARY KEY,
                username text NOT NULL,
                email text NOT NULL,
                first_name text NOT NULL,
                last_name text NOT NULL,
                city text NOT NULL,
                region text NOT NULL,
                -- scrypt$<log2 N>$<r>$<p>$<salt>$<key>: parameters travel with the hash
                password_hash text NOT NULL,
                roles text[] NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL DEFAULT now(),
                deleted_at timestamptz,
                CONSTRAINT users_username_unique UNIQUE (username),
                CONSTRAINT users_username_length CHECK (char_length(username) BETWEEN 3 AND 32),
                CONSTRAINT users_email_length CHECK (char_length(email) BETWEEN 3 AND 254),
                CONSTRAINT users_first_name_length CHECK (char_length(first_name) BETWEEN 1 AND 64),
                CONSTRAINT users_last_name_length CHECK (char_length(last_name) BETWEEN 1 AND 64),
                CONSTRAINT users_city_length CHECK (char_length(city) BETWEEN 1 AND 64),
                CONSTRAINT users_region_length CHECK (char_length(region) BETWEEN 1 AND 64),
                CONSTRAINT users_password_hash_length CHECK (char_length(password_hash) BETWEEN 1 AND 256)
            );
            CREATE INDEX users_region_city ON users (region, city);

            -- Only SHA-256 of a token is stored: a leaked table cannot be replayed as bearer tokens.
            CREATE TABLE sessions (
                token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
                user_id uuid NOT NULL REFERENCES users (id),
                created_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                revoked_at timestamptz
            );
            CREATE INDEX sessions_by_user ON sessions (user_id);
            """),
    ]
}
