import Foundation
import Testing
@testable import MovRLocality

@Suite("Locality file validation")
struct LocalityValidationTests {
    /// A small valid file; each test breaks one thing in it.
    static func validFile() -> [String: Any] {
        [
            "primary_region": "east",
            "regions": [["name": "east", "currency": "USD"], ["name": "west", "currency": "EUR"]],
            "cities": [
                ["name": "alpha", "region": "east", "latitude": 10.0, "longitude": 20.0, "radius_km": 5.0],
                ["name": "beta", "region": "west", "latitude": -10.0, "longitude": -20.0, "radius_km": 5.0],
            ],
            "latencies": ["intra_region_ms": 1,
                          "pairs": [["regions": ["east", "west"], "rtt_ms": 80]]],
        ]
    }

    static func load(_ file: [String: Any]) throws -> Locality {
        let data = try JSONSerialization.data(withJSONObject: file)
        return try TestConfig.withTemporaryFile(String(decoding: data, as: UTF8.self)) { path in
            try Locality.load(from: path)
        }
    }

    /// Loads a broken variant and returns the validation reason, failing if it loads.
    static func reason(_ mutate: (inout [String: Any]) -> Void) throws -> String {
        var file = validFile()
        mutate(&file)
        let error = #expect(throws: LocalityError.self) { try load(file) }
        guard case .invalidConfiguration(let path, let reason) = error else {
            Issue.record("expected invalidConfiguration, got \(String(describing: error))")
            return ""
        }
        #expect(path.contains("movr-locality-test-"))
        return reason
    }

    static func city(_ index: Int, _ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
        { file in
            var cities = file["cities"] as! [[String: Any]]
            cities[index][key] = value
            file["cities"] = cities
        }
    }

    @Test func theBaseFileIsValid() throws {
        let locality = try Self.load(Self.validFile())
        #expect(locality.cities.map(\.name) == ["alpha", "beta"])
        #expect(try locality.latency(from: "west", to: "east") == (80, false))
    }

    @Test func cityNamesFromTheFileAreNormalized() throws {
        var file = Self.validFile()
        Self.city(0, "name", "  Alpha   Town ")(&file)
        let locality = try Self.load(file)
        #expect(locality.cities[0].name == "alpha town")
        #expect(try locality.region(ofCity: "ALPHA TOWN") == "east")
    }

    @Test func cityInAnUnknownRegionIsRejected() throws {
        let reason = try Self.reason(Self.city(1, "region", "north"))
        #expect(reason == "city beta: region north is not in the region list")
    }

    @Test func duplicateCityIsRejectedEvenWithDifferentSpelling() throws {
        let reason = try Self.reason(Self.city(1, "name", " ALPHA"))
        #expect(reason == "duplicate city alpha")
    }

    @Test(arguments: [90.5, -91.0])
    func latitudeOutOfRangeIsRejected(latitude: Double) throws {
        let reason = try Self.reason(Self.city(0, "latitude", latitude))
        #expect(reason.hasPrefix("city alpha: latitude"))
        #expect(reason.contains("-90...90"))
    }

    @Test(arguments: [180.1, -200.0])
    func longitudeOutOfRangeIsRejected(longitude: Double) throws {
        let reason = try Self.reason(Self.city(0, "longitude", longitude))
        #expect(reason.hasPrefix("city alpha: longitude"))
    }

    @Test(arguments: [0.0, -3.0])
    func nonPositiveRadiusIsRejected(radius: Double) throws {
        let reason = try Self.reason(Self.city(0, "radius_km", radius))
        #expect(reason.hasPrefix("city alpha: radius_km must be positive"))
    }

    @Test func missingLatencyPairIsRejected() throws {
        let reason = try Self.reason { file in
            var regions = file["regions"] as! [[String: Any]]
            regions.append(["name": "south", "currency": "USD"])
            file["regions"] = regions
        }
        #expect(reason.hasPrefix("missing latency between"))
        #expect(reason.contains("south"))
    }

    @Test func duplicateRegionAndUnknownPrimaryRegionAreRejected() throws {
        let duplicate = try Self.reason { file in
            file["regions"] = [["name": "east", "currency": "USD"], ["name": "EAST", "currency": "USD"]]
        }
        #expect(duplicate == "duplicate region east")
        let primary = try Self.reason { $0["primary_region"] = "north" }
        #expect(primary == "primary_region north is not in the region list")
        let currency = try Self.reason { file in
            file["regions"] = [["name": "east", "currency": "usd"], ["name": "west", "currency": "EUR"]]
        }
        #expect(currency.contains("not a 3-letter ISO 4217 code"))
    }

    @Test func missingKeyAndWrongTypeNameTheirLocation() throws {
        let missing = try Self.reason { file in
            var cities = file["cities"] as! [[String: Any]]
            cities[1].removeValue(forKey: "radius_km")
            file["cities"] = cities
        }
        #expect(missing == "missing key \"radius_km\" at cities[1]")
        let mistyped = try Self.reason(Self.city(0, "latitude", "north"))
        #expect(mistyped.contains("cities[0].latitude"))
    }

    @Test func notJSONAndMissingFileAreClearErrors() throws {
        #expect(throws: LocalityError.self) {
            try TestConfig.withTemporaryFile("{ not json") { path in try Locality.load(from: path) }
        }
        let path = "/nonexistent/movr/locality.json"
        #expect(throws: LocalityError.invalidConfiguration(path: path, reason: "cannot read file")) {
            try Locality.load(from: path)
        }
    }

    @Test func searchOrderIsEnvironmentThenCurrentDirectoryThenExecutableAncestors() {
        let fromEnvironment = ConfigFile.candidates(
            fileName: "locality.json", environmentVariable: "MOVR_LOCALITY_CONFIG",
            environment: ["MOVR_LOCALITY_CONFIG": "/etc/movr/cities.json"],
            currentDirectory: "/srv", executablePath: "/opt/movr/bin/movr-gateway")
        #expect(fromEnvironment == ["/etc/movr/cities.json"])

        let searched = ConfigFile.candidates(
            fileName: "locality.json", environmentVariable: "MOVR_LOCALITY_CONFIG",
            environment: [:], currentDirectory: "/srv",
            executablePath: "/opt/movr/.build/debug/movr-gateway")
        #expect(searched.first == "/srv/config/locality.json")
        #expect(searched.contains("/opt/movr/.build/debug/config/locality.json"))
        #expect(searched.contains("/opt/movr/config/locality.json"))
        #expect(searched.count == 1 + 1 + ConfigFile.executableSearchDepth)
    }

    @Test func locateReportsEverySearchedPathWhenNothingIsFound() throws {
        let error = #expect(throws: LocalityError.self) {
            try ConfigFile.locate(fileName: "locality.json", environmentVariable: "MOVR_LOCALITY_CONFIG",
                                  environment: [:], currentDirectory: "/nonexistent-a",
                                  executablePath: "/nonexistent-b/bin/tool")
        }
        guard case .configurationNotFound(let searched) = error else {
            Issue.record("expected configurationNotFound, got \(String(describing: error))")
            return
        }
        #expect(searched.first == "/nonexistent-a/config/locality.json")
        #expect(searched.contains("/nonexistent-b/bin/config/locality.json"))
        let found = try ConfigFile.locate(fileName: "locality.json", environmentVariable: "MOVR_LOCALITY_CONFIG",
                                          environment: [:],
                                          currentDirectory: TestConfig.directory.deletingLastPathComponent().path,
                                          executablePath: nil)
        #expect(found == TestConfig.localityPath)
    }
}
