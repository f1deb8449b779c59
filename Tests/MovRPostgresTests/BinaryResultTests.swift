import Foundation
import MovRPostgres
import MovRTestSupport
import Testing

/// Results in binary format (`PostgresQuery.result(.binary)`) decode to exactly what the same
/// query's text results decode to, for every type that reads binary; other types refuse it.
@Suite struct BinaryResultTests {
    static let columns = "t, v, c, i2, i4, i8, b, f4, f8, u, ts, tsz"

    @Test func everyBinaryTypeDecodesLikeItsText() async throws {
        try await TestPostgres.withClient { client in
            try await client.execute("""
                CREATE TABLE samples (
                    id int PRIMARY KEY, t text, v varchar(40), c char(3), i2 smallint, i4 int, i8 bigint, b bool,
                    f4 real, f8 float8, u uuid, ts timestamp, tsz timestamptz, n numeric(10,2))
                """)
            let dates = [Date(timeIntervalSince1970: 1_795_797_002.123456), Date(timeIntervalSince1970: -1_234_567.000001),
                         Date(timeIntervalSince1970: 946_684_799.999999), .distantFuture, .distantPast]
            for (index, date) in dates.enumerated() {
                _ = try await client.query("""
                    INSERT INTO samples VALUES (\(index), \("Grüße 🚲 \(index)"), \("v\(index)"), 'ab',
                        \(Int32(-32768 + index)), \(Int32.min + Int32(index)), \(Int.max - index), \(index % 2 == 0),
                        \(1.5 + Double(index)), \(-73.98765432101234 * Double(index + 1)), \(UUID()), \(date), \(date), 1.25)
                    """)
            }
            _ = try await client.query("INSERT INTO samples (id) VALUES (99)")

            let select: PostgresQuery = "SELECT \(unsafeSQL: Self.columns) FROM samples ORDER BY id"
            let text = try await client.query(select)
            let binary = try await client.query(select.result(.binary))
            #expect(text.count == 6 && binary.count == 6)
            #expect(binary.first?.columns.allSatisfy(\.isBinary) == true)
            #expect(text.first?.columns.allSatisfy { !$0.isBinary } == true)
            for (fromText, fromBinary) in zip(text, binary) {
                func same<T: PostgresDecodable & Equatable>(_ column: String, _ type: T.Type) throws {
                    let expected = try fromText.decode(column, as: T?.self)
                    let actual = try fromBinary.decode(column, as: T?.self)
                    #expect(actual == expected, "\(column)")
                }
                try same("t", String.self)
                try same("v", String.self)
                try same("c", String.self)
                try same("i2", Int.self)
                try same("i4", Int32.self)
                try same("i8", Int64.self)
                try same("i8", Int.self)
                try same("b", Bool.self)
                try same("f4", Double.self)
                try same("f8", Double.self)
                try same("u", UUID.self)
                try same("ts", Date.self)
                try same("tsz", Date.self)
                // The text subscript of a binary column gives the server's text.
                for column in Self.columns.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) })
                where column != "f4" && column != "ts" && column != "tsz" {
                    #expect(fromBinary[column] == fromText[column], "\(column)")
                }
            }
        }
    }

    @Test func typesWithoutABinaryReaderAndMismatchesAreRefused() async throws {
        try await TestPostgres.withClient { client in
            let query: PostgresQuery = "SELECT 1.25::numeric AS n, gen_random_uuid() AS u, 70000 AS big, NULL::int AS missing"
            let row = try #require(try await client.query(query.result(.binary)).first)
            // numeric has no binary reader: a decoding error that names the column, not a wrong value.
            let numeric = #expect(throws: PostgresError.self) { _ = try row.decode("n", as: Decimal.self) }
            #expect(numeric?.code == .decoding)
            #expect(numeric.map { "\($0.debugDescription)" }?.contains("column n") == true)
            #expect(row["n"] == nil)
            // A uuid is not text, not an integer; an int4 of 70000 is not an Int16-sized value.
            #expect(throws: PostgresError.self) { _ = try row.decode("u", as: String.self) }
            #expect(throws: PostgresError.self) { _ = try row.decode("u", as: Int.self) }
            #expect(try row.decode("big", as: Int.self) == 70000)
            #expect(throws: PostgresError.self) { _ = try row.decode("big", as: Double.self) }
            // NULL: nil for an optional, an error otherwise.
            #expect(try row.decode("missing", as: Int?.self) == nil)
            #expect(throws: PostgresError.self) { _ = try row.decode("missing", as: Int.self) }
        }
    }
}
