import Foundation
import MovRPostgres
import Testing

/// Rows as views into a result that libpq builds in memory (no server): lookups, NULLs, errors,
/// and that rows keep their result alive wherever they go.
@Suite struct RowTests {
    static let columns = [
        PostgresColumn(name: "id", dataType: .int8), PostgresColumn(name: "name", dataType: .text),
        PostgresColumn(name: "note", dataType: .text), PostgresColumn(name: "id", dataType: .text),
    ]

    static func sample() -> PostgresRows {
        PostgresRows(columns: columns, textValues: [["1", "eins", nil, "shadowed"], ["2", "", "zwei", "x"], ["3", "drei", "", nil]],
                     affectedRows: 3, commandTag: "SELECT 3")
    }

    @Test func collectionAPIsSeeEveryRow() throws {
        let rows = Self.sample()
        #expect(rows.count == 3)
        #expect(!rows.isEmpty)
        #expect(rows.affectedRows == 3)
        #expect(rows.commandTag == "SELECT 3")
        #expect(rows.columns == Self.columns)
        #expect(try rows.map { try $0.decode("id", as: Int.self) } == [1, 2, 3])
        #expect(rows.rows.count == 3)
        #expect(try rows[2].decode(at: 1, as: String.self) == "drei")
        var names: [String] = []
        for row in rows { names.append(try row.decode("name")) }
        #expect(names == ["eins", "", "drei"])
        #expect(try rows.first?.decode("name", as: String.self) == "eins")
        let empty = PostgresRows(columns: Self.columns, textValues: [])
        #expect(empty.isEmpty && empty.first == nil && empty.count == 0)
    }

    @Test func valuesKeepNullApartFromEmptyText() throws {
        let rows = Self.sample()
        let first = try #require(rows.first)
        #expect(first.columnNames == ["id", "name", "note", "id"])
        #expect(first.values == ["1", "eins", nil, "shadowed"])
        #expect(first["note"] == nil)
        #expect(rows[2]["note"] == "")
        #expect(rows[1]["name"] == "")
        #expect(first[1] == "eins")
        #expect(first[99] == nil)
        #expect(first["missing"] == nil)
        #expect(try first.decode("note", as: String?.self) == nil)
        #expect(try rows[2].decode("note", as: String?.self) == "")
        // A repeated name means its first column, as before.
        #expect(first["id"] == "1")
    }

    @Test func decodingErrorsNameTheColumnNotTheValue() throws {
        let row = try #require(Self.sample().first)
        let null = try #require(throws: PostgresError.self) { try row.decode("note", as: String.self) }
        #expect(null.code == .decoding)
        #expect(null.serverMessage == "column note: unexpected NULL for String")
        let invalid = try #require(throws: PostgresError.self) { try row.decode("name", as: Int.self) }
        #expect(invalid.code == .decoding)
        #expect(invalid.serverMessage?.contains("eins") == false)
        for lookup in [{ try row.decode("missing", as: Int.self) }, { try row.decode(at: 4, as: Int.self) }, { try row.decode(at: -1, as: Int.self) }] {
            let error = try #require(throws: PostgresError.self) { try lookup() }
            #expect(error.code == .invalidQuery)
        }
    }

    /// A row keeps the whole result alive: it may outlive the collection and cross tasks.
    @Test func rowsOutliveTheirCollectionAndCrossTasks() async throws {
        var row: PostgresRow? = Self.sample()[1]
        let detached = Task.detached { [row] in try row?.decode("note", as: String.self) }
        #expect(try await detached.value == "zwei")
        #expect(try row?.decode("id", as: Int.self) == 2)
        row = nil
        let many = (0..<200).map { [String($0), "n\($0)", nil, nil] as [String?] }
        let survivors = PostgresRows(columns: Self.columns, textValues: many).filter { $0["id"]!.hasSuffix("7") }
        #expect(try survivors.map { try $0.decode("name", as: String.self) }.count == 20)
        #expect(try survivors.last?.decode("name", as: String.self) == "n197")
    }

    /// The compatibility initializers copy rows made in Swift into a result of their own.
    @Test func rowsMadeInSwiftDecodeLikeServerRows() throws {
        let row = PostgresRow(columns: Self.columns, values: ["7", "sieben", nil, "x"])
        #expect(try row.decode("id", as: Int.self) == 7)
        let rows = PostgresRows(columns: Self.columns, rows: [row, Self.sample()[0]], affectedRows: 0, commandTag: "SELECT 2")
        #expect(rows.map(\.values) == [["7", "sieben", nil, "x"], ["1", "eins", nil, "shadowed"]])
        #expect(rows.commandTag == "SELECT 2")
    }
}
