import Foundation
import MovRPostgres
import MovRTestSupport
import Testing

/// The byte parsers against what a real server sends: edge values, spellings the parsers must
/// accept, and values they must reject as decoding errors.
@Suite struct ServerDecodingTests {
    @Test func edgeValuesFromTheServerDecode() async throws {
        try await TestPostgres.withClient { client in
            let rows = try await client.query("""
                SELECT 'infinity'::timestamptz AS late, '-infinity'::timestamptz AS early,
                       '2026-11-27 16:30:02.5+05:30'::timestamptz AS offset_time,
                       'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid AS uuid, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::text AS upper_uuid,
                       (-2147483648)::int4 AS int4_min, (-9223372036854775808)::int8 AS int8_min,
                       '9223372036854775808'::numeric AS too_big, '2147483648'::int8 AS int4_overflow,
                       '1234567890123456789012345678901234567890123.5'::numeric AS long_numeric,
                       '-0.000000000000000000000000000001'::numeric AS tiny_numeric, '-0'::float8 AS negative_zero,
                       '5e-324'::float8 AS subnormal, ''::text AS empty, NULL::text AS null_text,
                       ARRAY[1, NULL, 3]::int4[] AS ints, ARRAY['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid] AS uuids,
                       ARRAY[1.5, -2.25]::float8[] AS doubles, true AS yes, false AS no
                """)
            let row = try #require(rows.first)
            #expect(try row.decode("late", as: Date.self) == .distantFuture)
            #expect(try row.decode("early", as: Date.self) == .distantPast)
            #expect(try row.decode("offset_time", as: Date.self) == Date(timeIntervalSince1970: 1_795_797_002.5 - 19_800))
            let uuid = try #require(UUID(uuidString: "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"))
            #expect(try row.decode("uuid", as: UUID.self) == uuid)
            #expect(try row.decode("upper_uuid", as: UUID.self) == uuid)
            #expect(try row.decode("int4_min", as: Int32.self) == .min)
            #expect(try row.decode("int8_min", as: Int64.self) == .min)
            #expect(try row.decode("int8_min", as: Int.self) == .min)
            #expect(try row.decode("too_big", as: Decimal.self) == Decimal(string: "9223372036854775808"))
            #expect(try row.decode("long_numeric", as: Decimal.self)
                    == Decimal(string: "1234567890123456789012345678901234567890123.5", locale: Locale(identifier: "en_US_POSIX")))
            #expect(try row.decode("tiny_numeric", as: Decimal.self) == Decimal(string: "-0.000000000000000000000000000001"))
            #expect(try row.decode("negative_zero", as: Double.self).sign == .minus)
            #expect(try row.decode("subnormal", as: Double.self) == .leastNonzeroMagnitude)
            #expect(try row.decode("empty", as: String.self) == "")
            #expect(try row.decode("null_text", as: String?.self) == nil)
            #expect(try row.decode("ints", as: [Int32?].self) == [1, nil, 3])
            #expect(try row.decode("uuids", as: PostgresUUIDArray.self).uuids == [uuid])
            #expect(try row.decode("doubles", as: [Double].self) == [1.5, -2.25])
            #expect(try row.decode("yes", as: Bool.self) && !(try row.decode("no", as: Bool.self)))

            for (column, decode) in [("too_big", { try row.decode("too_big", as: Int.self) }),
                                     ("int4_overflow", { Int(try row.decode("int4_overflow", as: Int32.self)) }),
                                     ("ints", { try row.decode("ints", as: [Int32].self).count }),
                                     ("empty", { try row.decode("empty", as: Int.self) }),
                                     ("null_text", { try row.decode("null_text", as: Int.self) })] {
                let error = try #require(throws: PostgresError.self) { try decode() }
                #expect(error.code == .decoding, "\(column)")
                #expect(error.serverMessage?.hasPrefix("column \(column): ") == true)
            }
        }
    }

    /// Many rows: every row decodes from the one result, also after the query's connection is
    /// back in the pool and busy with other statements.
    @Test func largeResultsStayReadableAfterTheConnectionMovesOn() async throws {
        try await TestPostgres.withClient { client in
            let rows = try await client.query("""
                SELECT n, md5(n::text) AS hash, gen_random_uuid() AS id, now() + n * interval '1 second' AS at,
                       n / 7.0 AS ratio
                FROM generate_series(1, 2000) AS n ORDER BY n
                """)
            _ = try await client.query("SELECT repeat('x', 100000) AS filler")
            #expect(rows.count == 2000)
            #expect(rows.commandTag == "SELECT 2000")
            let sum = try rows.reduce(0) { $0 + (try $1.decode("n", as: Int.self)) }
            #expect(sum == 2000 * 2001 / 2)
            #expect(try rows[1999].decode("hash", as: String.self).count == 32)
            #expect(Set(try rows.map { try $0.decode("id", as: UUID.self) }).count == 2000)
            #expect(try rows[6].decode("ratio", as: Double.self) == 1)
            #expect(try rows[6].decode("ratio", as: Decimal.self) == 1)
            let times = try rows.map { try $0.decode("at", as: Date.self) }
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
        }
    }
}
