/// Where a request is considered to come from, and which rule decided it.
public struct ResolvedLocation: Sendable, Hashable {
    /// The rule of docs/architecture.md §3 that produced the location, in priority order.
    public enum Source: String, Sendable, Hashable {
        /// The method's explicit `city` parameter.
        case param
        /// The `X-City` header set by the global load balancer.
        case xCity
        /// The city part of the `X-Place` header.
        case xPlaceCity
        /// The coordinates of the `X-Place` header (nearest city).
        case xPlaceCoordinates
        /// The signed-in user's home city.
        case user
        /// Nothing else applied: the gateway's own region.
        case gateway
    }

    /// Normalized city name, or nil when only a region is known.
    public var city: String?
    /// The region the request belongs to.
    public var region: String
    public var source: Source

    public init(city: String?, region: String, source: Source) {
        self.city = city
        self.region = region
        self.source = source
    }
}

extension Locality {
    /// How far from a city's center, in multiples of its radius, a coordinate still counts as
    /// "in" that city; beyond it only the nearest city's region is used.
    public static let nearbyRadiusFactor = 3.0

    /// Resolves a client's location per docs/architecture.md §3: explicit `city` param, `X-City`, `X-Place`
    /// city, `X-Place` coordinates, the signed-in user's city, the gateway's region.
    ///
    /// Absent or blank headers are skipped; an explicit but unknown city (param or `X-City`) is
    /// an error rather than a silent fallback, and so is a malformed `X-Place`. A user's city
    /// that is no longer configured falls through to the gateway's region.
    ///
    /// - Throws: `unknownCity`, `invalidPlace`, or `unknownRegion` for a bad `gatewayRegion`.
    public func resolve(explicitCity: String?, xCity: String?, xPlace: String?, userCity: String?,
                        gatewayRegion: String) throws(LocalityError) -> ResolvedLocation {
        if let explicitCity {
            guard let city = city(named: explicitCity) else { throw .unknownCity(explicitCity) }
            return ResolvedLocation(city: city.name, region: city.region, source: .param)
        }
        if let xCity, !PlaceName.normalized(xCity).isEmpty {
            guard let city = city(named: xCity) else { throw .unknownCity(xCity) }
            return ResolvedLocation(city: city.name, region: city.region, source: .xCity)
        }
        if let xPlace, !PlaceName.normalized(xPlace).isEmpty {
            return try resolve(place: xPlace)
        }
        if let userCity, let city = city(named: userCity) {
            return ResolvedLocation(city: city.name, region: city.region, source: .user)
        }
        guard let region = region(named: gatewayRegion) else { throw .unknownRegion(gatewayRegion) }
        return ResolvedLocation(city: nil, region: region.name, source: .gateway)
    }

    private func resolve(place: String) throws(LocalityError) -> ResolvedLocation {
        // Split from the right: the last two fields are the coordinates, so the city part is
        // everything before them.
        let fields = place.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count >= 3,
              let latitude = Double(fields[fields.count - 2].trimmingWhitespace()),
              let longitude = Double(fields[fields.count - 1].trimmingWhitespace()),
              latitude.isFinite, longitude.isFinite,
              (-90.0...90.0).contains(latitude), (-180.0...180.0).contains(longitude)
        else { throw .invalidPlace(place) }

        let cityPart = fields.dropLast(2).joined(separator: ",")
        if let city = city(named: cityPart) {
            return ResolvedLocation(city: city.name, region: city.region, source: .xPlaceCity)
        }
        let nearest = nearestCity(latitude: latitude, longitude: longitude)
        let isNearby = nearest.distanceKm(toLatitude: latitude, longitude: longitude)
            <= nearest.radiusKm * Self.nearbyRadiusFactor
        return ResolvedLocation(city: isNearby ? nearest.name : nil, region: nearest.region,
                                source: .xPlaceCoordinates)
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map(index(after:)) ?? start
        return self[start..<end]
    }
}
