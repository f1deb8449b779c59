import Foundation
import Testing

@testable import MovRAPI

@Suite("Page cursors")
struct PageCursorTests {
    @Test(arguments: [Int64(0), 1, -1, 1_795_797_002_123_456,
                      PageCursor.validSortKeys.lowerBound, PageCursor.validSortKeys.upperBound])
    func roundTrips(_ micros: Int64) throws {
        let cursor = PageCursor(sortKeyMicroseconds: micros, id: rideID)
        let text = cursor.encoded
        #expect(text.utf8.allSatisfy { $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "/") })
        #expect(try PageCursor(decoding: text) == cursor)
    }

    @Test func dateConstructorKeepsMicroseconds() throws {
        let time = Date(timeIntervalSince1970: 1_795_797_002.123456)
        let cursor = PageCursor(time: time, id: vehicleID)
        #expect(cursor.sortKeyMicroseconds == 1_795_797_002_123_456)
        #expect(abs(cursor.time.timeIntervalSince(time)) < 0.000_001)
    }

    @Test(arguments: [
        "", "garbage!", "AAAA", "not base64 at all", String(repeating: "A", count: 201),
        // Right length, wrong version byte (all zero bytes).
        String(repeating: "A", count: 34),
    ])
    func garbageIsACursorError(_ text: String) {
        #expect(throws: APIValidationError(field: "cursor", message: "invalid cursor")) {
            try PageCursor(decoding: text)
        }
    }

    /// Regression: this cursor (sort key near `Int64.min`) crashed movr-vehicles when its key
    /// was turned into a timestamp. Keys outside the years 0001...9999 are a `cursor` error.
    @Test(arguments: [
        "AX__________AAAAAAAAAAAAAAAAAAAAAA",
        PageCursor(sortKeyMicroseconds: .max, id: rideID).encoded,
        PageCursor(sortKeyMicroseconds: .min, id: rideID).encoded,
        PageCursor(sortKeyMicroseconds: PageCursor.validSortKeys.upperBound + 1, id: rideID).encoded,
        PageCursor(sortKeyMicroseconds: PageCursor.validSortKeys.lowerBound - 1, id: rideID).encoded,
    ])
    func sortKeysOutsideTheCalendarAreRefused(_ text: String) {
        #expect(throws: APIValidationError(field: "cursor", message: "invalid cursor")) {
            try PageCursor(decoding: text)
        }
        #expect(validationFailure(VehiclesListParams(cursor: text))?.field == "cursor")
        #expect(validationFailure(RidesListParams(cursor: text))?.field == "cursor")
    }

    @Test func dateConstructorIsTotal() {
        for seconds in [1e300, -1e300, Double.infinity, -Double.infinity, Double.nan] {
            let cursor = PageCursor(time: Date(timeIntervalSince1970: seconds), id: rideID)
            #expect(PageCursor.validSortKeys.contains(cursor.sortKeyMicroseconds))
        }
    }

    @Test func farTimesClampToTheEndsTheyAreNear() {
        #expect(PageCursor(time: Date(timeIntervalSince1970: 1e300), id: rideID).sortKeyMicroseconds
                == PageCursor.validSortKeys.upperBound)
        #expect(PageCursor(time: Date(timeIntervalSince1970: -.infinity), id: rideID).sortKeyMicroseconds
                == PageCursor.validSortKeys.lowerBound)
        #expect(PageCursor(time: Date(timeIntervalSince1970: .nan), id: rideID).sortKeyMicroseconds
                == PageCursor.validSortKeys.lowerBound)
        #expect(PageCursor(time: Date(timeIntervalSince1970: 3e11), id: rideID).sortKeyMicroseconds
                == PageCursor.validSortKeys.upperBound)
    }

    /// A keyset query asks for one row more than the page; that row only says a page follows.
    @Test func aPageIsTheFirstLimitRowsWithACursorWhenMoreFollow() {
        let times = (0..<4).map { Date(timeIntervalSince1970: 1_795_797_000 + Double($0)) }
        let ids = times.map { _ in UUID() }
        let rows = Array(zip(times, ids))
        let position: ((Date, UUID)) -> (time: Date, id: UUID) = { ($0.0, $0.1) }

        let full = PageCursor.page(rows, limit: 3, position: position)
        #expect(full.items.map(\.1) == Array(ids.prefix(3)))
        #expect(full.next == PageCursor(time: times[2], id: ids[2]))

        let last = PageCursor.page(Array(rows.prefix(3)), limit: 3, position: position)
        #expect(last.items.map(\.1) == Array(ids.prefix(3)) && last.next == nil)
        #expect(PageCursor.page([(Date, UUID)](), limit: 3, position: position).next == nil)
        #expect(PageCursor.page(Array(rows.prefix(1)), limit: 0, position: position).items.isEmpty)
        // The caller's own array is left whole (it is copied before the extra row is dropped).
        #expect(rows.count == 4 && full.items.count == 3)
    }

    /// Handed an array nobody else holds (a listing's freshly decoded rows), the page drops the
    /// extra row in place: its items are the same storage, not a copy of it.
    @Test func aPageKeepsTheStorageOfRowsHandedOver() {
        let times = (0..<26).map { Date(timeIntervalSince1970: 1_795_797_000 + Double($0)) }
        let ids = times.map { _ in UUID() }
        var storage: UInt = 0
        func decoded() -> [(Date, UUID)] {
            let rows = Array(zip(times, ids))
            storage = rows.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
            return rows
        }
        let page = PageCursor.page(decoded(), limit: 25) { (time: $0.0, id: $0.1) }
        #expect(page.items.count == 25 && page.next == PageCursor(time: times[24], id: ids[24]))
        #expect(page.items.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == storage)
    }

    @Test func paddedOrStandardBase64SpellingsAreRejected() throws {
        let text = PageCursor(sortKeyMicroseconds: -1, id: rideID).encoded
        #expect(throws: APIValidationError.self) { try PageCursor(decoding: text + "==") }
        let standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if standard != text {
            #expect(throws: APIValidationError.self) { try PageCursor(decoding: standard) }
        }
        #expect(throws: APIValidationError.self) { try PageCursor(decoding: String(text.dropLast())) }
    }

    @Test func listParamsValidateTheCursor() throws {
        let good = PageCursor(sortKeyMicroseconds: 42, id: vehicleID).encoded
        #expect(validationFailure(VehiclesListParams(cursor: good)) == nil)
        #expect(try VehiclesListParams(cursor: good).pageCursor() == PageCursor(sortKeyMicroseconds: 42, id: vehicleID))
        #expect(try RidesListParams().pageCursor() == nil)
        #expect(validationFailure(VehiclesListParams(cursor: "zzz"))?.field == "cursor")
        #expect(validationFailure(RidesListParams(cursor: "zzz"))?.field == "cursor")
        #expect(validationFailure(RidesListParams(cursor: String(repeating: "A", count: 201)))?.field == "cursor")
    }
}
