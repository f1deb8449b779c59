import FoundationEssentials
import MovRCalendar

/// The position after the last item of a page, for keyset pagination on `(time, id)`.
///
/// Clients see only an opaque base64url string: a version byte, the sort key in microseconds
/// (big-endian) and the id. The version byte lets the layout change without misreading old cursors.
public struct PageCursor: Sendable, Hashable {
    /// The last item's sort key (e.g. `created_at`), in microseconds since the Unix epoch —
    /// PostgreSQL's own timestamp precision, so the next page starts exactly after it.
    public var sortKeyMicroseconds: Int64
    /// The last item's id, breaking ties between equal sort keys.
    public var id: UUID

    /// Sort keys a cursor may carry: 0001-01-01T00:00:00Z through 9999-12-31T23:59:59.999999Z,
    /// the times the API can spell in RFC 3339. Every key this type hands out is inside (the
    /// database's own times are); a key outside comes from a forged cursor and is refused, so a
    /// crafted cursor can never reach a time conversion that would overflow.
    public static let validSortKeys: ClosedRange<Int64> = -62_135_596_800_000_000...253_402_300_799_999_999

    private static let version: UInt8 = 1
    private static let byteCount = 1 + 8 + 16
    /// Longest cursor accepted in params; generous against future layouts, small against abuse.
    public static let maximumLength = 200

    public init(sortKeyMicroseconds: Int64, id: UUID) {
        self.sortKeyMicroseconds = sortKeyMicroseconds
        self.id = id
    }

    /// Builds a cursor from a `Date`, rounded to the nearest microsecond and clamped to
    /// ``validSortKeys`` (a database time is always inside; the clamp only makes this total).
    public init(time: Date, id: UUID) {
        let key: Int64
        if let micros = CivilCalendar.count(of: time, perSecond: 1_000_000) {
            key = min(max(micros, Self.validSortKeys.lowerBound), Self.validSortKeys.upperBound)
        } else {
            // Beyond Int64: the far future is the last key; the far past and NaN the first.
            key = time.timeIntervalSince1970 > 0 ? Self.validSortKeys.upperBound : Self.validSortKeys.lowerBound
        }
        self.init(sortKeyMicroseconds: key, id: id)
    }

    /// One page of a keyset query that asked for `limit + 1` rows in `(time, id)` order: the
    /// first `limit` items, and the cursor after the last of them when the extra row shows that
    /// another page follows (the rides listing; the vehicles listings apply the same rule to their
    /// rows, `VehiclesPage`). Takes the rows' array over (`consuming`): a caller that hands it
    /// the array it just decoded has the extra row dropped in place, where a borrowed array had to
    /// be copied whole first (1.6 % of the vehicles service's samples in a profile under a
    /// `vehicles.list` load, when that listing still used it). Inlinable, so each listing's call
    /// is specialized for its item type.
    @inlinable
    public static func page<Item>(_ rows: consuming [Item], limit: Int, position: (Item) -> (time: Date, id: UUID))
        -> (items: [Item], next: PageCursor?) {
        var next: PageCursor?
        if rows.count > limit {
            rows.removeLast()
            if let last = rows.last.map(position) { next = PageCursor(time: last.time, id: last.id) }
        }
        return (rows, next)
    }

    /// The sort key as a `Date`.
    public var time: Date {
        Date(timeIntervalSince1970: Double(sortKeyMicroseconds) / 1_000_000)
    }

    /// The opaque string handed to clients as `next_cursor`.
    public var encoded: String {
        var bytes = [Self.version]
        bytes.reserveCapacity(Self.byteCount)
        withUnsafeBytes(of: sortKeyMicroseconds.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: id.uuid) { bytes.append(contentsOf: $0) }
        // base64url without padding: '+' -> '-', '/' -> '_', no '='.
        let url = Data(bytes).base64EncodedString().utf8.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            case UInt8(ascii: "="): nil
            default: byte
            }
        }
        return String(decoding: url, as: UTF8.self)
    }

    /// Reads a cursor a client sent back; anything this type did not produce is a `cursor` error.
    public init(decoding text: String) throws(APIValidationError) {
        let invalid = APIValidationError(field: "cursor", message: "invalid cursor")
        guard text.utf8.count <= Self.maximumLength,
              text.utf8.allSatisfy({ Self.isBase64URLByte($0) })
        else { throw invalid }
        var base64 = String(decoding: text.utf8.map { byte in
            byte == UInt8(ascii: "-") ? UInt8(ascii: "+") : byte == UInt8(ascii: "_") ? UInt8(ascii: "/") : byte
        }, as: UTF8.self)
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), data.count == Self.byteCount,
              data[data.startIndex] == Self.version
        else { throw invalid }
        let bytes = [UInt8](data)
        var micros: Int64 = 0
        for byte in bytes[1..<9] { micros = micros << 8 | Int64(byte) }
        let u = Array(bytes[9..<25])
        let id = UUID(uuid: (u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
                             u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]))
        guard Self.validSortKeys.contains(micros) else { throw invalid }
        self.init(sortKeyMicroseconds: micros, id: id)
        // Reject other spellings of the same bytes so a cursor has exactly one form.
        guard encoded == text else { throw invalid }
    }

    private static func isBase64URLByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }
}
