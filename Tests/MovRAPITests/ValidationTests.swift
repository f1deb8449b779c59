import Foundation
import Testing

@testable import MovRAPI

/// Each rule at its edges: the last accepted value passes, the first value past it fails on the
/// right field.
@Suite("Params validation")
struct ValidationTests {
    static let location = Location(latitude: 40.7, longitude: -74.0)

    func register(username: String = "alice", password: String = "correct horse", email: String = "a@example.com",
                  firstName: String = "Alice", lastName: String = "Liddell", city: String = "new york")
        -> UsersRegisterParams {
        UsersRegisterParams(username: username, password: password, email: email, firstName: firstName,
                            lastName: lastName, city: city)
    }

    func add(city: String? = nil, location: Location = location, color: String = "red", brand: String = "Lime",
             battery: Int? = nil) -> VehiclesAddParams {
        VehiclesAddParams(type: .scooter, city: city, location: location, color: color, brand: brand, battery: battery)
    }

    func create(code: String = "SPRING", description: String = "spring sale", percentOff: Int = 10,
                expiresAt: String = "2030-01-01T00:00:00Z") -> PromoCodesCreateParams {
        PromoCodesCreateParams(code: code, description: description, percentOff: percentOff, expiresAt: expiresAt)
    }

    @Test func validSamplesPass() {
        #expect(validationFailure(register()) == nil)
        #expect(validationFailure(add(city: "rome", battery: 50)) == nil)
        #expect(validationFailure(create()) == nil)
    }

    /// The text rule reads printable ASCII by bytes and the rest by scalars: both ways count
    /// scalars and refuse control characters (C0, DEL, C1) with the same errors.
    @Test func textRuleCountsScalarsAndRefusesControlsEitherWay() {
        func failure(_ value: String, _ length: ClosedRange<Int> = 1...4) -> String? {
            do {
                try FieldRule.text(value, field: "f", length: length)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(failure("abcd") == nil)
        #expect(failure("café") == nil, "four scalars")
        #expect(failure("cafe\u{301}") == "must be at most 4 characters", "five scalars, four graphemes")
        #expect(failure("abcde") == "must be at most 4 characters")
        #expect(failure("") == "must not be empty")
        #expect(failure("ab", 3...4) == "must be at least 3 characters")
        for control in ["a\u{0}", "a\u{1F}", "a\u{7F}", "a\t", "é\u{7F}", "a\u{85}", "é\u{9F}"] {
            #expect(failure(control) == "must not contain control characters", "\(control.debugDescription)")
        }
        #expect(failure("a ~") == nil, "space and tilde are printable")
    }

    @Test func username() {
        #expect(validationFailure(register(username: "abc")) == nil)
        #expect(validationFailure(register(username: String(repeating: "a", count: 32))) == nil)
        #expect(validationFailure(register(username: "a.b_c-9")) == nil)
        for bad in ["ab", String(repeating: "a", count: 33), "Alice", "al ice", "alïce", "al@ce", "abc\u{0}"] {
            #expect(validationFailure(register(username: bad))?.field == "username", "\(bad)")
        }
        #expect(validationFailure(AuthLoginParams(username: "Alice", password: "x"))?.field == "username")
    }

    @Test func password() {
        #expect(validationFailure(register(password: String(repeating: "p", count: 8))) == nil)
        #expect(validationFailure(register(password: String(repeating: "p", count: 128))) == nil)
        #expect(validationFailure(register(password: "pässwörd")) == nil)
        for bad in [String(repeating: "p", count: 7), String(repeating: "p", count: 129), "password\u{0}", "pass\tword"] {
            let failure = validationFailure(register(password: bad))
            #expect(failure?.field == "password")
            #expect(failure.map { !$0.message.contains("pass") } ?? false, "message must not echo the value")
        }
        #expect(validationFailure(AuthLoginParams(username: "alice", password: "x")) == nil)
        #expect(validationFailure(AuthLoginParams(username: "alice", password: ""))?.field == "password")
        #expect(validationFailure(AuthLoginParams(username: "alice", password: String(repeating: "p", count: 129)))?
                .field == "password")
    }

    @Test func email() {
        let domain = "@" + String(repeating: "d", count: 60) + ".com"
        let longest = String(repeating: "l", count: 64) + "@" + String(repeating: "d", count: 185) + ".com"
        #expect(longest.utf8.count == 254)
        for good in ["a@b.co", "first.last+tag@mail.example.org", longest, String(repeating: "l", count: 64) + domain] {
            #expect(validationFailure(register(email: good)) == nil, "\(good)")
        }
        let tooLong = String(repeating: "l", count: 64) + "@" + String(repeating: "d", count: 186) + ".com"
        for bad in [tooLong, String(repeating: "l", count: 65) + domain, "", "ab", "no-at.example.com", "a@b",
                    "a@@b.co", "@b.co", "a@.co", "a@b.", "a@b..co", "a b@c.co", "a@b.co\u{0}", "a@b.co\n"] {
            #expect(validationFailure(register(email: bad))?.field == "email", "\(bad)")
        }
    }

    @Test func names() {
        #expect(validationFailure(register(firstName: "A", lastName: String(repeating: "n", count: 64))) == nil)
        #expect(validationFailure(register(firstName: "José Ñ", lastName: "O'Brien-Łukasz")) == nil)
        #expect(validationFailure(register(firstName: ""))?.field == "first_name")
        #expect(validationFailure(register(lastName: String(repeating: "n", count: 65)))?.field == "last_name")
        #expect(validationFailure(register(firstName: "Al\u{7}ice"))?.field == "first_name")
        #expect(validationFailure(register(lastName: "L\u{85}"))?.field == "last_name")
        // Length is counted in scalars: a single grapheme with many combining marks is long.
        #expect(validationFailure(register(firstName: "e" + String(repeating: "\u{301}", count: 64)))?.field
                == "first_name")
    }

    @Test func city() {
        #expect(validationFailure(register(city: "x")) == nil)
        #expect(validationFailure(register(city: String(repeating: "c", count: 64))) == nil)
        #expect(validationFailure(register(city: ""))?.field == "city")
        #expect(validationFailure(register(city: String(repeating: "c", count: 65)))?.field == "city")
        #expect(validationFailure(add(city: ""))?.field == "city")
        #expect(validationFailure(VehiclesListParams(city: "new\u{0}york"))?.field == "city")
    }

    @Test func battery() {
        #expect(validationFailure(add(battery: 0)) == nil)
        #expect(validationFailure(add(battery: 100)) == nil)
        #expect(validationFailure(add(battery: -1))?.field == "battery")
        #expect(validationFailure(add(battery: 101))?.field == "battery")
        let end = { (battery: Int) in RidesEndParams(rideID: rideID, location: Self.location, battery: battery) }
        #expect(validationFailure(end(100)) == nil)
        #expect(validationFailure(end(101))?.field == "battery")
    }

    @Test func coordinates() {
        for good in [Location(latitude: 90, longitude: 180), Location(latitude: -90, longitude: -180),
                     Location(latitude: 0, longitude: 0)] {
            #expect(validationFailure(add(location: good)) == nil)
        }
        let cases: [(Location, String)] = [
            (Location(latitude: 90.000001, longitude: 0), "location.latitude"),
            (Location(latitude: -90.000001, longitude: 0), "location.latitude"),
            (Location(latitude: .nan, longitude: 0), "location.latitude"),
            (Location(latitude: .infinity, longitude: 0), "location.latitude"),
            (Location(latitude: 0, longitude: 180.000001), "location.longitude"),
            (Location(latitude: 0, longitude: -180.000001), "location.longitude"),
            (Location(latitude: 0, longitude: -.infinity), "location.longitude"),
        ]
        for (location, field) in cases {
            #expect(validationFailure(add(location: location))?.field == field)
            #expect(validationFailure(RidesUpdateLocationParams(rideID: rideID, location: location))?.field == field)
            #expect(validationFailure(RidesEndParams(rideID: rideID, location: location))?.field == field)
        }
    }

    @Test func colorAndBrand() {
        #expect(validationFailure(add(color: "r", brand: String(repeating: "b", count: 32))) == nil)
        #expect(validationFailure(add(color: ""))?.field == "color")
        #expect(validationFailure(add(color: String(repeating: "r", count: 33)))?.field == "color")
        #expect(validationFailure(add(brand: ""))?.field == "brand")
        #expect(validationFailure(add(brand: String(repeating: "b", count: 33)))?.field == "brand")
    }

    @Test func limit() {
        for limit in [1, 100] {
            #expect(validationFailure(VehiclesListParams(limit: limit)) == nil)
            #expect(validationFailure(RidesListParams(limit: limit)) == nil)
            #expect(validationFailure(LocationHistoryParams(id: vehicleID, limit: limit)) == nil)
        }
        for limit in [0, 101, -5] {
            #expect(validationFailure(VehiclesListParams(limit: limit))?.field == "limit")
            #expect(validationFailure(RidesListParams(limit: limit))?.field == "limit")
            #expect(validationFailure(LocationHistoryParams(id: vehicleID, limit: limit))?.field == "limit")
        }
        #expect(VehiclesListParams().effectiveLimit == 25)
        #expect(RidesListParams(limit: 7).effectiveLimit == 7)
        #expect(LocationHistoryParams(id: vehicleID).effectiveLimit == 25)
    }

    @Test func idempotencyKey() {
        let start = { (key: String) in RidesStartParams(vehicleID: vehicleID, idempotencyKey: key) }
        #expect(validationFailure(start("a")) == nil)
        #expect(validationFailure(start(String(repeating: "K", count: 64))) == nil)
        #expect(validationFailure(start("Az09_-")) == nil)
        #expect(validationFailure(RidesStartParams(vehicleID: vehicleID)) == nil)
        for bad in ["", String(repeating: "K", count: 65), "a.b", "a b", "ключ", "a\u{0}"] {
            #expect(validationFailure(start(bad))?.field == "idempotency_key", "\(bad)")
        }
    }

    @Test func promoCode() {
        #expect(validationFailure(create(code: "ABC")) == nil)
        #expect(validationFailure(create(code: String(repeating: "Z", count: 32))) == nil)
        #expect(validationFailure(create(code: "A_B-9")) == nil)
        for bad in ["AB", String(repeating: "Z", count: 33), "spring", "SPR ING", "SPR.ING", "ÅBC"] {
            #expect(validationFailure(create(code: bad))?.field == "code", "\(bad)")
            #expect(validationFailure(PromoCodesApplyParams(code: bad))?.field == "code", "\(bad)")
        }
        #expect(validationFailure(PromoCodesApplyParams(code: "ABC")) == nil)
    }

    @Test func percentOff() {
        #expect(validationFailure(create(percentOff: 1)) == nil)
        #expect(validationFailure(create(percentOff: 100)) == nil)
        #expect(validationFailure(create(percentOff: 0))?.field == "percent_off")
        #expect(validationFailure(create(percentOff: 101))?.field == "percent_off")
    }

    @Test func description() {
        #expect(validationFailure(create(description: "")) == nil)
        #expect(validationFailure(create(description: String(repeating: "d", count: 200))) == nil)
        #expect(validationFailure(create(description: String(repeating: "d", count: 201)))?.field == "description")
        #expect(validationFailure(create(description: "line\nbreak"))?.field == "description")
    }

    @Test func expiresAt() throws {
        #expect(validationFailure(create(expiresAt: "2030-01-01T00:00:00.5+01:00")) == nil)
        let expiration = create(expiresAt: "2030-01-01T00:00:00Z").expirationDate
        #expect(expiration != nil && expiration == RFC3339.date(from: "2030-01-01T00:00:00.000Z"))
        for bad in ["", "tomorrow", "2030-01-01", "2030-02-30T00:00:00Z", "2030-01-01T00:00:00"] {
            #expect(validationFailure(create(expiresAt: bad))?.field == "expires_at", "\(bad)")
            #expect(create(expiresAt: bad).expirationDate == nil)
        }
    }

    @Test func errorDescriptionNamesFieldAndRule() {
        let error = APIValidationError(field: "limit", message: "must be between 1 and 100")
        #expect("\(error)" == "invalid param 'limit': must be between 1 and 100")
    }
}
