import FoundationEssentials
import MovRAPI
import MovRPostgres
import MovRRPC

/// One page of a vehicles listing (`vehicles.list`, `vehicles.mine`) as the store read it: the
/// result's rows, written to JSON straight from libpq's bytes.
///
/// The listing's reply is the one result whose size grows with the page, so its rows skip the
/// `Vehicle` values the other methods build: the text columns (type, status, city, region,
/// color, brand), when ASCII, are copied from the result into the reply without becoming
/// `String`s, and
/// type and status are checked against their enums by their bytes. The JSON is the same, byte
/// for byte, as ``VehiclesListResult``'s of ``vehicles()`` (tests compare the two), and a value
/// `Vehicle` would refuse (a NULL, an unknown type) fails the page the same way.
public struct VehiclesPage: Sendable {
    let rows: PostgresRows
    /// Where each column sits (nil for an empty result, which has no rows to look it up for).
    let layout: VehiclesStore.Layout?
    /// The page's rows: the first `count` of `rows` (which hold one more when a page follows).
    public let count: Int
    /// The cursor of the next page, nil on the last.
    public let next: PageCursor?

    /// The page of `rows`, a keyset query's answer for `limit + 1` rows in `(created_at, id)`
    /// order (``PageCursor/page(_:limit:position:)``'s rule).
    public init(rows: PostgresRows, limit: Int) throws {
        self.rows = rows
        layout = rows.isEmpty ? nil : try VehiclesStore.Layout(rows.columns)
        count = min(rows.count, limit)
        if rows.count > limit, let layout, count > 0 {
            let last = rows[count - 1]
            next = PageCursor(time: try last.decode(at: layout.createdAt, as: Date.self),
                              id: try last.decode(at: layout.id, as: UUID.self))
        } else {
            next = nil
        }
    }

    /// The page's vehicles as values.
    public func vehicles() throws -> [Vehicle] {
        guard let layout else { return [] }
        return try rows.prefix(count).map { try VehiclesStore.vehicle(from: $0, layout) }
    }

    /// The API's result for this page, as values.
    public func result() throws -> VehiclesListResult {
        VehiclesListResult(vehicles: try vehicles(), nextCursor: next?.encoded)
    }
}

extension VehiclesPage: JSONByteWritable {
    /// What `VehiclesListResult.encode(to:)` writes, through the values (the dispatcher writes
    /// JSON with ``writeJSON(into:)``; this serves any other encoder).
    public func encode(to encoder: any Encoder) throws {
        try result().encode(to: encoder)
    }

    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.object { object in
            object.key("vehicles")
            if let layout {
                try object.array(rows.prefix(count)) { writer, row in try Self.write(row, layout, into: &writer) }
            } else {
                object.array(EmptyCollection<Int>()) { _, _ in }
            }
            object.key("next_cursor"); object.string(next?.encoded)
        }
    }

    /// One vehicle, member for member as `Vehicle.writeJSON(into:)` writes it.
    static func write(_ row: PostgresRow, _ layout: VehiclesStore.Layout, into writer: inout JSONByteWriter) throws {
        try writer.object { object in
            object.key("id"); object.lowercaseUUID(try row.decode(at: layout.id, as: UUID.self))
            object.key("type"); try enumName(row, layout.type, among: typeNames, into: &object)
            object.key("city"); try text(row, layout.city, into: &object)
            object.key("region"); try text(row, layout.region, into: &object)
            object.key("owner_id"); object.lowercaseUUID(try row.decode(at: layout.ownerID, as: UUID?.self))
            object.key("status"); try enumName(row, layout.status, among: statusNames, into: &object)
            object.key("battery"); object.integer(try row.decode(at: layout.battery, as: Int.self))
            object.key("location")
            let latitude = try row.decode(at: layout.latitude, as: Double.self)
            let longitude = try row.decode(at: layout.longitude, as: Double.self)
            try object.object { location in
                location.key("latitude"); try location.double(latitude)
                location.key("longitude"); try location.double(longitude)
            }
            object.key("color"); try text(row, layout.color, into: &object)
            object.key("brand"); try text(row, layout.brand, into: &object)
            object.key("created_at"); RFC3339.write(try row.decode(at: layout.createdAt, as: Date.self), into: &object)
        }
    }

    static let typeNames: [[UInt8]] = VehicleType.allCases.map { Array($0.rawValue.utf8) }
    static let statusNames: [[UInt8]] = VehicleStatus.allCases.map { Array($0.rawValue.utf8) }

    /// A text column as a JSON string: ASCII (city and region names, and most colors and
    /// brands) is copied on as it is; anything else goes through `String`, which is what `Vehicle` holds (and which repairs
    /// bytes that are not UTF-8, as decoding it does). NULL fails as decoding it does.
    static func text(_ row: PostgresRow, _ column: Int, into writer: inout JSONByteWriter) throws {
        let copied = try row.withValueBytes(at: column) { bytes, _ -> Bool in
            guard let bytes, isASCII(bytes) else { return false }
            writer.string(utf8: bytes.assumingMemoryBound(to: UInt8.self))
            return true
        }
        if !copied { writer.string(try row.decode(at: column, as: String.self)) }
    }

    /// A column holding one of an enum's raw values, written as that value; any other text
    /// fails the page with the decoding error `VehiclesStore.vehicle(from:_:)` gives.
    static func enumName(_ row: PostgresRow, _ column: Int, among names: [[UInt8]],
                         into writer: inout JSONByteWriter) throws {
        let written = try row.withValueBytes(at: column) { bytes, _ -> Bool in
            guard let bytes, let name = names.first(where: { $0.elementsEqual(bytes) }) else { return false }
            name.withUnsafeBufferPointer { writer.string(utf8: $0) }
            return true
        }
        guard written else {
            _ = try row.decode(at: column, as: String.self)  // NULL: the same error as decoding
            throw PostgresError(code: .decoding, serverMessage: "unexpected vehicle type or status")
        }
    }

    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var union: UInt8 = 0
        for byte in bytes { union |= byte }
        return union < 0x80
    }
}
