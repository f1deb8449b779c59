import Foundation
import MovRPostgres
import MovRTestSupport
import Testing

@Suite struct TypeRoundTripTests {
    struct Payload: Codable, Equatable {
        var name: String
        var tags: [String]
        var nested: [String: Int]
    }

    @Test func everySupportedTypeRoundTripsThroughATable() async throws {
        try await TestPostgres.withClient { client in
            try await client.execute("""
                CREATE TABLE samples (
                    id int PRIMARY KEY, t text, i8 bigint, i4 int, b bool, d float8, n numeric(20,2),
                    u uuid, ts timestamptz, j jsonb, ta text[], ua uuid[])
                """)

            let text = "Grüße, 東京 🚲 'quote' \"double\" \\ back\\slash, {braces}"
            let uuid = UUID()
            let otherUUID = UUID()
            let date = Date(timeIntervalSince1970: 1_795_797_002.123456)
            let decimal = try #require(Decimal(string: "12345678901234.56"))
            let payload = Payload(name: "ü", tags: ["a", "b"], nested: ["x": -1])
            let json = try PostgresJSON(encoding: payload)
            let tags = ["plain", "with space", "comma,inside", "quote\"inside", "back\\slash", "NULL", ""]

            _ = try await client.query("""
                INSERT INTO samples (id, t, i8, i4, b, d, n, u, ts, j, ta, ua)
                VALUES (1, \(text), \(Int.min), \(Int32.max), \(true), \(-1.5e300), \(decimal), \(uuid), \(date),
                        \(json), \(tags), \(PostgresUUIDArray([uuid, otherUUID])))
                """)
            _ = try await client.query("""
                INSERT INTO samples (id, t, i8, i4, b, d, n, u, ts, j, ta, ua)
                VALUES (2, \(String?.none), \(Int?.none), \(Int32?.none), \(Bool?.none), \(Double?.none),
                        \(Decimal?.none), \(UUID?.none), \(Date?.none), \(PostgresJSON?.none), \([String]?.none),
                        \(PostgresUUIDArray?.none))
                """)

            let rows = try await client.query("SELECT * FROM samples ORDER BY id")
            #expect(rows.count == 2)
            let row = try #require(rows.first)
            #expect(try row.decode("t", as: String.self) == text)
            #expect(try row.decode("i8", as: Int.self) == Int.min)
            #expect(try row.decode("i8", as: Int64.self) == Int64.min)
            #expect(try row.decode("i4", as: Int32.self) == Int32.max)
            #expect(try row.decode("b", as: Bool.self) == true)
            #expect(try row.decode("d", as: Double.self) == -1.5e300)
            #expect(try row.decode("n", as: Decimal.self) == decimal)
            #expect(row["n"] == "12345678901234.56")
            #expect(try row.decode("u", as: UUID.self) == uuid)
            let decodedDate = try row.decode("ts", as: Date.self)
            #expect(Self.micros(decodedDate) == Self.micros(date))
            #expect(try row.decode("j", as: PostgresJSON.self).decode(Payload.self) == payload)
            #expect(try row.decode("ta", as: [String].self) == tags)
            #expect(try row.decode("ua", as: PostgresUUIDArray.self).uuids == [uuid, otherUUID])

            let nulls = rows.rows[1]
            for column in ["t", "i8", "i4", "b", "d", "n", "u", "ts", "j", "ta", "ua"] {
                #expect(nulls[column] == nil)
            }
            #expect(try nulls.decode("t", as: String?.self) == nil)
            #expect(try nulls.decode("i8", as: Int?.self) == nil)
            #expect(try nulls.decode("ts", as: Date?.self) == nil)
            #expect(try nulls.decode("j", as: PostgresJSON?.self) == nil)
            #expect(try nulls.decode("ta", as: [String]?.self) == nil)
            let error = try #require(throws: PostgresError.self) { try nulls.decode("i8", as: Int.self) }
            #expect(error.code == .decoding)
        }
    }

    @Test func scalarsRoundTripThroughParameters() async throws {
        try await TestPostgres.withClient { client in
            for value in [0, -1, 1, Int.max, Int.min, 42] {
                let rows = try await client.query("SELECT \(value)::int8 AS v")
                #expect(try rows.first?.decode("v", as: Int.self) == value)
            }
            for value in [0.0, -0.25, 3.141592653589793, Double.greatestFiniteMagnitude, .infinity, -.infinity] {
                let rows = try await client.query("SELECT \(value)::float8 AS v")
                #expect(try rows.first?.decode("v", as: Double.self) == value)
            }
            let nan = try await client.query("SELECT \(Double.nan)::float8 AS v")
            #expect(try nan.first?.decode("v", as: Double.self).isNaN == true)
            for text in ["-0.000001", "99999999999999999999.999999", "0", "-12345678901234.56"] {
                let decimal = try #require(Decimal(string: text))
                let rows = try await client.query("SELECT \(decimal)::numeric AS v")
                #expect(try rows.first?.decode("v", as: Decimal.self) == decimal)
            }
            let bools = try await client.query("SELECT \(true) AS t, \(false) AS f")
            #expect(try bools.first?.decode("t", as: Bool.self) == true)
            #expect(try bools.first?.decode("f", as: Bool.self) == false)
        }
    }

    @Test func timestampsAreUTCWithMicroseconds() async throws {
        try await TestPostgres.withClient { client in
            let settings = try await client.query("SELECT current_setting('TimeZone') AS tz, current_setting('DateStyle') AS ds")
            #expect(settings.first?["tz"] == "UTC")
            #expect(settings.first?["ds"]?.hasPrefix("ISO") == true)

            let server = try await client.query("""
                SELECT '2026-11-27 16:30:02.123456+00'::timestamptz AS a,
                       '2026-11-27 18:30:02.5+02'::timestamptz AS b,
                       '1969-12-31 23:59:59.999999+00'::timestamptz AS c
                """)
            let row = try #require(server.first)
            #expect(row["a"] == "2026-11-27 16:30:02.123456+00")
            let expected = Date(timeIntervalSince1970: 1_795_797_002.123456)
            #expect(Self.micros(try row.decode("a", as: Date.self)) == Self.micros(expected))
            #expect(Self.micros(try row.decode("b", as: Date.self)) == Self.micros(Date(timeIntervalSince1970: 1_795_797_002.5)))
            #expect(Self.micros(try row.decode("c", as: Date.self)) == -1)

            for seconds in [0.0, -86_400.000001, 951_782_400.000001 /* 2000-02-29 */, 4_102_444_799.999999] {
                let date = Date(timeIntervalSince1970: seconds)
                let back = try await client.query("SELECT \(date) AS v, \(date)::text AS s")
                #expect(Self.micros(try #require(back.first).decode("v", as: Date.self)) == Self.micros(date))
            }
        }
    }

    /// A bound time beyond PostgreSQL's range is sent as infinity instead of trapping, and the
    /// server agrees it sorts after (or before) every real time.
    @Test func outOfRangeTimesBindAsInfinity() async throws {
        try await TestPostgres.withClient { client in
            let rows = try await client.query("""
                SELECT \(Date(timeIntervalSince1970: 1e300)) > now() AS late, \(Date(timeIntervalSince1970: -1e300)) < now() AS early,
                       \(Date(timeIntervalSince1970: 1e300))::text AS spelled
                """)
            let row = try #require(rows.first)
            #expect(try row.decode("late", as: Bool.self))
            #expect(try row.decode("early", as: Bool.self))
            #expect(try row.decode("spelled", as: String.self) == "infinity")
        }
    }

    @Test func unparsableValuesAreDecodingErrors() async throws {
        try await TestPostgres.withClient { client in
            let rows = try await client.query("SELECT 'not a number' AS v, 'x' AS u")
            let row = try #require(rows.first)
            #expect(throws: PostgresError.self) { try row.decode("v", as: Int.self) }
            #expect(throws: PostgresError.self) { try row.decode("u", as: UUID.self) }
            #expect(throws: PostgresError.self) { try row.decode("v", as: Date.self) }
            #expect(throws: PostgresError.self) { try row.decode("missing", as: String.self) }
        }
    }

    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }
}
