import Foundation
import MovRAPI
import MovRPostgres
import MovRRPC
import NIOCore
import Testing
@testable import MovRVehicles

/// `vehicles.list` and `vehicles.mine` write their pages straight from the result's rows
/// (``VehiclesPage``); the JSON must be what the same rows give through `Vehicle` values, and a
/// row `Vehicle` refuses must fail the page the same way.
@Suite("vehicles page written from rows")
struct VehiclesPageTests {
    static let columns: [PostgresColumn] = [
        ("id", 2950), ("type", 25), ("city", 25), ("region", 25), ("owner_id", 2950), ("status", 25),
        ("battery", 23), ("latitude", 701), ("longitude", 701), ("color", 25), ("brand", 25),
        ("current_ride_id", 2950), ("created_at", 1184),
    ].map { PostgresColumn(name: $0.0, dataType: PostgresDataType(rawValue: $0.1)) }

    /// A row in text format, as PostgreSQL sends one; `change` edits its values by column name.
    static func row(_ index: Int, _ change: (inout [String: String?]) -> Void = { _ in }) -> [String?] {
        var values: [String: String?] = [
            "id": UUID().uuidString.lowercased(), "type": "scooter", "city": "new york", "region": "us-east1",
            "owner_id": UUID().uuidString.lowercased(), "status": "available", "battery": String(10 + index),
            "latitude": "\(40.7 + Double(index) * 0.001_234_567)", "longitude": "\(-74.0 - Double(index) / 3)",
            "color": "green", "brand": "Merida", "current_ride_id": nil,
            "created_at": "2026-11-27 16:30:\(10 + index).\(123_456 + index)+00",
        ]
        change(&values)
        return columns.map { values[$0.name] ?? nil }
    }

    static func json(_ value: some JSONByteWritable) throws -> String {
        var buffer = ByteBuffer()
        try value.appendJSON(to: &buffer)
        return String(buffer: buffer)
    }

    /// The page's own JSON and the JSON of its values; the two must be equal.
    static func both(_ page: VehiclesPage) throws -> (rows: String, values: String) {
        (try json(page), try json(try page.result()))
    }

    @Test func aPageFromRowsIsTheJSONOfItsValues() throws {
        let rows: [[String?]] = (0..<5).map { index in
            Self.row(index) { values in
                switch index {
                case 1: values["owner_id"] = .some(nil)  // a fleet vehicle
                case 2: values["city"] = "são paulo"; values["brand"] = "Škoda ✓"  // not ASCII
                case 3: values["color"] = "sky \"blue\"\\\n\t\u{1}"; values["type"] = "skateboard"  // escapes
                case 4: values["status"] = "in_use"; values["type"] = "bike"; values["latitude"] = "-0.5"
                default: break
                }
            }
        }
        let result = PostgresRows(columns: Self.columns, textValues: rows)
        // A last page (fewer rows than asked for), a page exactly as long, one with a next page.
        for limit in [10, 5, 3] {
            let page = try VehiclesPage(rows: result, limit: limit)
            let (fromRows, fromValues) = try Self.both(page)
            #expect(fromRows == fromValues)
            #expect(page.count == min(limit, 5))
            #expect((page.next != nil) == (limit < 5))
        }
        let text = try Self.json(try VehiclesPage(rows: result, limit: 10))
        #expect(text.contains("\"owner_id\":null") && text.contains("são paulo") && text.contains("Škoda ✓"))
        #expect(text.contains(#""sky \"blue\"\\\n\t\u0001""#))
        // ASCII is copied as it is; anything else (UTF-8, or bytes that are not, which a
        // database in SQL_ASCII could send) goes through `String` like the values' path.
        for (bytes, ascii) in [([UInt8]("new york".utf8), true), ([UInt8]("são".utf8), false), ([0x61, 0xFF], false)] {
            #expect(bytes.withUnsafeBytes { VehiclesPage.isASCII($0) } == ascii)
        }
        // The cursor is the last row of the page: the next page starts after it.
        let page = try VehiclesPage(rows: result, limit: 3)
        let values = try page.vehicles()
        #expect(values.count == 3 && page.next == PageCursor(time: values[2].createdAt, id: values[2].id))
    }

    @Test func anEmptyResultIsAnEmptyLastPage() throws {
        let page = try VehiclesPage(rows: PostgresRows(columns: Self.columns, textValues: []), limit: 25)
        #expect(try Self.json(page) == #"{"vehicles":[],"next_cursor":null}"#)
        #expect(try Self.json(try page.result()) == #"{"vehicles":[],"next_cursor":null}"#)
    }

    /// What a `Vehicle` cannot hold (an unknown type or status, a NULL where it needs a value)
    /// fails the page with the error decoding the row gives, and no JSON is written.
    @Test func aRowAVehicleRefusesFailsThePageAlike() throws {
        let bad: [(String, String?)] = [("type", "hoverboard"), ("status", "lost"), ("type", nil), ("status", nil),
                                         ("city", nil), ("brand", nil), ("battery", nil), ("id", nil)]
        for (column, value) in bad {
            let rows = PostgresRows(columns: Self.columns, textValues: [Self.row(0), Self.row(1) { $0[column] = .some(value) }])
            let page = try VehiclesPage(rows: rows, limit: 25)
            let fromValues = #expect(throws: PostgresError.self) { try page.result() }
            var buffer = ByteBuffer()
            let fromRows = #expect(throws: PostgresError.self) { try page.appendJSON(to: &buffer) }
            #expect(fromRows?.code == .decoding && fromRows?.serverMessage == fromValues?.serverMessage,
                    "\(column) = \(value ?? "NULL")")
            #expect(buffer.readableBytes == 0)
        }
    }
}

/// The same against PostgreSQL: binary results, as the service asks for them.
extension VehiclesStoreTests {
    @Test func listingPagesFromTheDatabaseAreTheJSONOfTheirValues() async throws {
        try await withStore { store in
            let owner = UUID()
            for _ in 0..<4 { try await add(store, city: "boston", owner: owner) }
            let odd = try await add(store, city: "boston", owner: owner)
            // Text MovR's own API would not write, straight into the table.
            _ = try await store.database.query("""
                UPDATE vehicles SET brand = \("Škoda \"R\" \\ ✓"), color = \("tab\there")
                WHERE id = \(odd.id)
                """)
            for limit in [2, 5, 10] {
                let available = try await store.availablePage(city: "boston", limit: limit, after: nil)
                #expect(try VehiclesPageTests.json(available) == VehiclesPageTests.json(try available.result()))
                let owned = try await store.ownedPage(ownerID: owner, limit: limit, after: nil)
                #expect(try VehiclesPageTests.json(owned) == VehiclesPageTests.json(try owned.result()))
                #expect(available.count == min(limit, 5) && owned.count == min(limit, 5))
            }
            let text = try VehiclesPageTests.json(try await store.availablePage(city: "boston", limit: 10, after: nil))
            #expect(text.contains(#""brand":"Škoda \"R\" \\ ✓""#) && text.contains(#""color":"tab\there""#))
        }
    }
}
