import Foundation
import Testing
@testable import MovRLocality

@Suite("Locality default configuration")
struct LocalityConfigTests {
    static let designTable: [String: [String]] = [
        "us-east1": ["new york", "boston", "washington dc"],
        "us-central1": ["chicago", "detroit", "minneapolis"],
        "us-west1": ["san francisco", "seattle", "los angeles"],
        "europe-west1": ["amsterdam", "paris", "rome"],
    ]

    @Test func defaultFileHasTheCityMapOfDesignSection5() throws {
        let locality = try TestConfig.defaultLocality()
        #expect(locality.regions.count == 4)
        #expect(locality.cities.count == 12)
        #expect(locality.primaryRegion == "us-east1")
        var actual: [String: Set<String>] = [:]
        for city in locality.cities { actual[city.region, default: []].insert(city.name) }
        #expect(actual == Self.designTable.mapValues(Set.init))
        for (region, cities) in Self.designTable {
            for city in cities { #expect(try locality.region(ofCity: city) == region) }
        }
    }

    @Test func currenciesAreUSDInTheUSAndEURInEurope() throws {
        let locality = try TestConfig.defaultLocality()
        for region in ["us-east1", "us-central1", "us-west1"] {
            #expect(try locality.currency(ofRegion: region) == "USD")
        }
        #expect(try locality.currency(ofRegion: "europe-west1") == "EUR")
        #expect(throws: LocalityError.unknownRegion("mars-1")) { try locality.currency(ofRegion: "mars-1") }
    }

    @Test(arguments: ["new york", "New York", "  NEW   york ", "new\tyork", "\nnew york\n"])
    func cityNamesAreNormalized(spelling: String) throws {
        let locality = try TestConfig.defaultLocality()
        #expect(try locality.region(ofCity: spelling) == "us-east1")
        #expect(locality.city(named: spelling)?.name == "new york")
    }

    /// The byte-loop shortcut answers exactly as the general rule (split on Unicode whitespace,
    /// single spaces, lowercased) for every spelling, canonical or not.
    @Test(arguments: ["new york", "New York", " new york", "new york ", "new  york", "new\tyork", "", " ", "a",
                      "washington dc", "são paulo", "São Paulo", "new\u{85}york", "new\u{A0}york", "NEW-YORK",
                      "new\u{1F}york", "new\u{7F}york", "zürich ", "rome", "@[`{"])
    func theCanonicalShortcutAgreesWithTheGeneralRule(spelling: String) {
        let general = spelling.split(whereSeparator: \.isWhitespace).joined(separator: " ").lowercased()
        #expect(PlaceName.normalized(spelling) == general)
        #expect(PlaceName.isCanonicalASCII(spelling) == (spelling == general && spelling.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }))
    }

    @Test func unknownCityIsAnErrorNamingTheCity() throws {
        let locality = try TestConfig.defaultLocality()
        #expect(throws: LocalityError.unknownCity("atlantis")) { try locality.region(ofCity: "atlantis") }
        #expect(throws: LocalityError.unknownCity("newyork")) { try locality.region(ofCity: "newyork") }
        #expect(throws: LocalityError.unknownCity("")) { try locality.region(ofCity: "") }
        #expect(locality.city(named: "atlantis") == nil)
        #expect(LocalityError.unknownCity("atlantis").reason == "unknown_city")
        #expect(LocalityError.unknownCity("atlantis").description.contains("atlantis"))
    }

    @Test func latencyTableIsSymmetricCompleteAndHasTheSourcedFigures() throws {
        let locality = try TestConfig.defaultLocality()
        let names = locality.regions.map(\.name)
        for a in names {
            for b in names {
                let forward = try locality.latency(from: a, to: b)
                let backward = try locality.latency(from: b, to: a)
                #expect(forward == backward, "\(a) <-> \(b)")
                if a == b { #expect(forward == (1, false)) } else { #expect(forward.ms > 1) }
            }
        }
        #expect(try locality.latency(from: "us-east1", to: "us-west1") == (66, false))
        #expect(try locality.latency(from: "us-east1", to: "europe-west1") == (64, false))
        #expect(try locality.latency(from: "us-west1", to: "europe-west1") == (146, false))
        for other in ["us-east1", "us-west1", "europe-west1"] {
            #expect(try locality.latency(from: "us-central1", to: other).estimate)
        }
        #expect(throws: LocalityError.unknownRegion("mars-1")) { try locality.latency(from: "us-east1", to: "mars-1") }
    }

    @Test func nearestCityUsesGreatCircleDistance() throws {
        let locality = try TestConfig.defaultLocality()
        #expect(locality.nearestCity(latitude: 48.80, longitude: 2.45).name == "paris")
        #expect(locality.nearestCity(latitude: 47.45, longitude: -122.30).name == "seattle")  // SEA airport
        #expect(locality.nearestCity(latitude: 40.64, longitude: -73.78).name == "new york")  // JFK
        #expect(locality.nearestCity(latitude: -33.87, longitude: 151.21).name != "")  // far away still answers
        let paris = try #require(locality.city(named: "paris"))
        let london = paris.distanceKm(toLatitude: 51.5074, longitude: -0.1278)
        #expect(abs(london - 344) < 5)  // Paris-London is about 344 km
    }

    @Test func randomPointsStayWithinTheCityRadius() throws {
        let locality = try TestConfig.defaultLocality()
        var generator = SplitMix64(state: 42)
        for city in locality.cities {
            var farthest = 0.0
            for _ in 0..<1000 {
                let point = locality.randomPoint(in: city, using: &generator)
                let distance = city.distanceKm(toLatitude: point.latitude, longitude: point.longitude)
                #expect(distance <= city.radiusKm, "\(city.name): \(distance) km")
                farthest = max(farthest, distance)
            }
            // Uniform over the disc: 1000 draws nearly always reach the outer tenth.
            #expect(farthest > city.radiusKm * 0.9, "\(city.name) points cluster at the center")
        }
    }

    @Test func randomPointsNearTheDatelineWrapLongitude() throws {
        let locality = try Locality(
            regions: [Region(name: "pacific", currency: "USD")],
            cities: [City(name: "suva", region: "pacific", latitude: -18, longitude: 179.99, radiusKm: 50)],
            primaryRegion: "pacific", intraRegionLatencyMs: 1, latencies: [])
        var generator = SplitMix64(state: 7)
        for _ in 0..<1000 {
            let point = locality.randomPoint(in: locality.cities[0], using: &generator)
            #expect((-180.0...180.0).contains(point.longitude))
            #expect(locality.cities[0].distanceKm(toLatitude: point.latitude, longitude: point.longitude) <= 50)
        }
    }
}
