import Benchmark
import Foundation
import MovRPostgres
import MovRRPC
import MovRVehicles
import NIOCore

// Row decoding as the vehicles service does it for `vehicles.list` (25 rows of 13 columns),
// without a server: libpq builds the result in memory (PQmakeEmptyPGresult, PQsetvalue), so the
// rows go through the same code as a query's result. Building the result is measured on its own
// ("build only") so its cost can be subtracted from "build + decode"; results: docs/benchmarks.md.

/// The vehicles service's row shape (`VehiclesStore.vehicle(from:)`), decoded the same way.
struct VehicleRow {
    var id: UUID, type: String, city: String, region: String, ownerID: UUID?, status: String
    var battery: Int, latitude: Double, longitude: Double, color: String, brand: String
    var currentRideID: UUID?, createdAt: Date

    /// Decodes by column name (what the service does) or by position (to see the lookups' cost).
    init(_ row: PostgresRow, byPosition: Bool) throws {
        func column<T: PostgresDecodable>(_ position: Int, _ name: String) throws -> T {
            byPosition ? try row.decode(at: position) : try row.decode(name)
        }
        type = try column(1, "type")
        status = try column(5, "status")
        id = try column(0, "id")
        city = try column(2, "city")
        region = try column(3, "region")
        ownerID = try column(4, "owner_id")
        battery = try column(6, "battery")
        latitude = try column(7, "latitude")
        longitude = try column(8, "longitude")
        color = try column(9, "color")
        brand = try column(10, "brand")
        currentRideID = try column(11, "current_ride_id")
        createdAt = try column(12, "created_at")
    }
}

enum Fixture {
    static let columns: [PostgresColumn] = [
        ("id", 2950), ("type", 25), ("city", 25), ("region", 25), ("owner_id", 2950), ("status", 25),
        ("battery", 23), ("latitude", 701), ("longitude", 701), ("color", 25), ("brand", 25),
        ("current_ride_id", 2950), ("created_at", 1184),
    ].map { PostgresColumn(name: $0.0, dataType: PostgresDataType(rawValue: $0.1)) }

    /// Text values as PostgreSQL sends them (float8 shortest round-trip digits, ISO timestamps).
    static let vehicles: [[String?]] = (0..<25).map { index in
        let latitude = 40.7 + Double(index) * 0.001_234_567_891_234_5
        let longitude = -74.0 + Double(index) * 0.002_345_678_912_345_6
        return [
            UUID().uuidString.lowercased(), "scooter", "new york", "us-east1", UUID().uuidString.lowercased(),
            "available", String(20 + index), "\(latitude)", "\(longitude)", "green", "Merida", nil,
            "2026-11-27 16:30:\(10 + index).\(123_456 + index)+00",
        ]
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )

    Benchmark("vehicles: build 25-row result only") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(PostgresRows(columns: Fixture.columns, textValues: Fixture.vehicles))
        }
    }

    Benchmark("vehicles: build 25-row result + decode all rows") { benchmark in
        for _ in benchmark.scaledIterations {
            let rows = PostgresRows(columns: Fixture.columns, textValues: Fixture.vehicles)
            blackHole(try rows.map { try VehicleRow($0, byPosition: false) })
        }
    }

    // The same rows decoded by position: the difference to the above is the cost of name lookups.
    Benchmark("vehicles: build 25-row result + decode all rows by position") { benchmark in
        for _ in benchmark.scaledIterations {
            let rows = PostgresRows(columns: Fixture.columns, textValues: Fixture.vehicles)
            blackHole(try rows.map { try VehicleRow($0, byPosition: true) })
        }
    }

    // A listing's reply from the same rows (built once, outside the loop): through `Vehicle`
    // values, as every vehicles method but the listings, and straight from the rows, as
    // `vehicles.list` and `vehicles.mine` (VehiclesPage); the same JSON, byte for byte.
    let page = try! VehiclesPage(rows: PostgresRows(columns: Fixture.columns, textValues: Fixture.vehicles), limit: 25)
    Benchmark("vehicles: 25-row page -> values -> JSON") { benchmark in
        for _ in benchmark.scaledIterations {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(8192)
            try page.result().appendJSON(to: &buffer)
            blackHole(buffer)
        }
    }
    Benchmark("vehicles: 25-row page -> JSON from the rows") { benchmark in
        for _ in benchmark.scaledIterations {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(8192)
            try page.appendJSON(to: &buffer)
            blackHole(buffer)
        }
    }

    // One value per call through the text entry point (the same on old and new code).
    let parsers: [(String, String, (String) throws -> Any)] = [
        ("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", { try UUID.decode(postgresText: $0) }),
        ("int", "-9223372036854775808", { try Int.decode(postgresText: $0) }),
        ("double", "-73.98765432101234", { try Double.decode(postgresText: $0) }),
        ("timestamptz", "2026-11-27 16:30:02.123456+00", { try Date.decode(postgresText: $0) }),
        ("numeric", "12345678901234.56", { try Decimal.decode(postgresText: $0) }),
        ("text[]", "{plain,\"with space\",NULL}", { try [String?].decode(postgresText: $0) }),
    ]
    for (name, text, decode) in parsers {
        Benchmark("parse \(name) x1000", configuration: .init(scalingFactor: .kilo)) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try decode(text))
            }
        }
    }
}
