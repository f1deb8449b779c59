import Testing
@testable import MovRLocality

@Suite("Client location resolution (docs/architecture.md §3)")
struct ClientLocationTests {
    let locality: Locality

    init() throws { locality = try TestConfig.defaultLocality() }

    func resolve(city: String? = nil, xCity: String? = nil, xPlace: String? = nil,
                 user: String? = nil, gateway: String = "us-west1") throws -> ResolvedLocation {
        try locality.resolve(explicitCity: city, xCity: xCity, xPlace: xPlace, userCity: user,
                             gatewayRegion: gateway)
    }

    @Test func explicitCityParamWinsOverEverything() throws {
        let resolved = try resolve(city: "Rome", xCity: "boston", xPlace: "seattle,47.6,-122.3", user: "chicago")
        #expect(resolved == ResolvedLocation(city: "rome", region: "europe-west1", source: .param))
    }

    @Test func unknownExplicitCityIsAnErrorNotAFallback() throws {
        #expect(throws: LocalityError.unknownCity("gotham")) {
            try resolve(city: "gotham", xCity: "boston")
        }
        #expect(throws: LocalityError.unknownCity("")) { try resolve(city: "", xCity: "boston") }
    }

    @Test func xCityComesNext() throws {
        let resolved = try resolve(xCity: " San  Francisco", xPlace: "rome,41.9,12.5", user: "chicago")
        #expect(resolved == ResolvedLocation(city: "san francisco", region: "us-west1", source: .xCity))
    }

    @Test func unknownXCityIsAnError() throws {
        #expect(throws: LocalityError.unknownCity("gotham")) {
            try resolve(xCity: "gotham", xPlace: "rome,41.9,12.5", user: "chicago")
        }
    }

    @Test func blankHeadersAreIgnored() throws {
        let resolved = try resolve(xCity: "  ", xPlace: "", user: "detroit")
        #expect(resolved == ResolvedLocation(city: "detroit", region: "us-central1", source: .user))
    }

    @Test func xPlaceCityComesNext() throws {
        // The coordinates point at New York, but a known city name takes precedence.
        let resolved = try resolve(xPlace: "Amsterdam, 40.71, -74.00", user: "chicago")
        #expect(resolved == ResolvedLocation(city: "amsterdam", region: "europe-west1", source: .xPlaceCity))
    }

    @Test(arguments: ["atlantis,48.80,2.45", ",48.80,2.45", " , 48.80 , 2.45 "])
    func xPlaceCoordinatesNearParisResolveToEuropeWest1(header: String) throws {
        let resolved = try resolve(xPlace: header, user: "chicago")
        #expect(resolved == ResolvedLocation(city: "paris", region: "europe-west1", source: .xPlaceCoordinates))
    }

    @Test func xPlaceCoordinatesFarFromEveryCityGiveOnlyARegion() throws {
        // Lyon: nearest configured city is Paris (~390 km), far beyond 3 x its 10 km radius.
        let resolved = try resolve(xPlace: "lyon,45.76,4.84", user: "chicago")
        #expect(resolved == ResolvedLocation(city: nil, region: "europe-west1", source: .xPlaceCoordinates))
        // Just inside and just outside 3 x radius of Paris (30 km) along the meridian.
        let inside = try resolve(xPlace: ",\(48.8566 - 0.26),2.3522")  // ~28.9 km south
        #expect(inside.city == "paris")
        let outside = try resolve(xPlace: ",\(48.8566 - 0.28),2.3522")  // ~31.1 km south
        #expect(outside.city == nil)
        #expect(outside.region == "europe-west1")
    }

    @Test(arguments: [
        "paris", "paris,48.8", "paris,abc,2.3", "paris,48.8,", "48.8,2.3", "paris,91,2.3",
        "paris,48.8,181", "paris,nan,2.3", "paris,inf,2.3", "paris,48.8,2.3,",
    ])
    func malformedXPlaceIsAnError(header: String) throws {
        #expect(throws: LocalityError.invalidPlace(header)) { try resolve(xPlace: header, user: "chicago") }
    }

    @Test func userCityComesNext() throws {
        let resolved = try resolve(user: "Minneapolis", gateway: "us-east1")
        #expect(resolved == ResolvedLocation(city: "minneapolis", region: "us-central1", source: .user))
    }

    @Test func gatewayRegionIsTheLastResort() throws {
        #expect(try resolve(gateway: "europe-west1")
            == ResolvedLocation(city: nil, region: "europe-west1", source: .gateway))
        // A user city that was removed from the config falls through instead of failing the request.
        #expect(try resolve(user: "old town", gateway: "us-east1")
            == ResolvedLocation(city: nil, region: "us-east1", source: .gateway))
        #expect(throws: LocalityError.unknownRegion("mars-1")) { try resolve(gateway: "mars-1") }
    }
}
