import FoundationEssentials
import Logging
import MovRAPI
import MovRInternalAPI
import MovRLocality
import MovRRPC
import MovRRPCTransport
import MovRService
import MovRUUID
import NIOConcurrencyHelpers

/// The public methods of docs/architecture.md §3. The public method table (`PublicMethod`: params
/// type, access) drives decoding, validation and authentication of every method in one order
/// (``register(_:_:in:_:)``); each handler then resolves the region and makes one call to the
/// owning service there.
struct PublicAPI: Sendable {
    /// The region this gateway serves from.
    let region: String
    let locality: Locality
    let logger: Logger
    /// Home regions' services found unreachable: skipped until a background `system.ping`,
    /// sent every few seconds, is answered again, so a region that is down costs the first
    /// request that finds it down one connect attempt and no request after it anything.
    let unreachable = UnreachableServices(retryAfter: .seconds(5))
    /// False (`--home-region-routing false`): every city is served by this region's services,
    /// which then reach data homed elsewhere across the WAN (benchmarks compare the two).
    let homeRegionRouting: Bool
    let fences = WriteFences()
    /// How a service of a region (nil: this region) is reached: the executable's RPC clients over
    /// mutual TLS; unit tests pass services running in-process (Tests/MovRGatewayTests).
    let connect: ServiceConnector

    /// Signed-in calls' session checks, coalesced into `auth.sessions` batches under load.
    let sessionChecks: SessionChecks

    init(region: String, locality: Locality, homeRegionRouting: Bool, sessionChecksInFlight: Int = 1,
         logger: Logger, connect: @escaping ServiceConnector) {
        self.region = region
        self.locality = locality
        self.homeRegionRouting = homeRegionRouting
        self.logger = logger
        self.connect = connect
        self.sessionChecks = SessionChecks(limit: sessionChecksInFlight) { tokens, options in
            let users = try connect(.users, nil)
            let raw: RawJSON
            do {
                raw = try await users.callRaw(InternalMethod.Users.sessions, params: SessionTokensParams(tokens: tokens),
                                              options: options)
            } catch let error as RPCError where error.code == RPCError.Code.methodNotFound {
                // A users service older than `auth.sessions` (an upgrade under way, region by
                // region): each token its own `auth.session`, as before.
                return try await Self.checkOneByOne(tokens, users: users, options: options, logger: logger)
            }
            return try Self.decodeSessionReply(raw, of: InternalMethod.Users.sessions, as: SessionsResult.self,
                                               logger: logger).sessions
        }
    }

    /// `auth.sessions` as separate `auth.session` calls, at once: a refusal becomes that
    /// token's `refused` entry, any other error fails them all (as it fails a batch).
    static func checkOneByOne(_ tokens: [String], users: any ServiceCaller, options: RPCCallOptions,
                              logger: Logger) async throws -> [SessionCheck] {
        try await withThrowingTaskGroup(of: (Int, SessionCheck).self) { group in
            for (index, token) in tokens.enumerated() {
                group.addTask {
                    do {
                        let raw = try await users.callRaw(InternalMethod.Users.session, params: SessionTokenParams(token: token),
                                                          options: options)
                        return (index, .valid(try decodeSessionReply(raw, of: InternalMethod.Users.session,
                                                                     as: SessionResult.self, logger: logger)))
                    } catch let refusal as RPCError where refusal.code == RPCError.Code.unauthenticated {
                        return (index, .refused(reason: refusal.data?.reason ?? "invalid_token"))
                    }
                }
            }
            var checks = [SessionCheck?](repeating: nil, count: tokens.count)
            for try await (index, check) in group { checks[index] = check }
            return checks.compactMap { $0 }
        }
    }

    private static func decodeSessionReply<R: Decodable>(_ raw: RawJSON, of method: String, as: R.Type,
                                                         logger: Logger) throws -> R {
        do {
            return try raw.parsed().decode(as: R.self, strict: false)
        } catch {
            logger.error("upstream reply has an unexpected shape", metadata: ["method": "\(method)"])
            throw RPCError.internalError
        }
    }

    /// Where a call about data homed in `region` goes (nil: this region).
    func route(_ region: String) -> String? {
        homeRegionRouting ? region : nil
    }

    /// Internal methods a standby may answer: they carry the caller's write fence.
    static let replicaReadable: Set<String> = [InternalMethod.Vehicles.list, InternalMethod.Vehicles.get,
                                               InternalMethod.Rides.promoList]
    /// Internal methods that write: the WAL position in their reply becomes the caller's fence.
    static let writes: Set<String> = [InternalMethod.Vehicles.add, InternalMethod.Vehicles.remove,
                                      InternalMethod.Rides.start, InternalMethod.Rides.end,
                                      InternalMethod.Rides.updateLocation, InternalMethod.Rides.promoCreate,
                                      InternalMethod.Rides.promoApply]

    func dispatcher() -> RPCDispatcher {
        var dispatcher = RPCDispatcher()
        registerCatalogue(&dispatcher)
        registerAccounts(&dispatcher)
        registerVehicles(&dispatcher)
        registerRides(&dispatcher)
        registerPromoCodes(&dispatcher)
        return dispatcher
    }

    /// Readiness: every service of this region answers.
    func dependenciesReachable() async -> Bool {
        for service in [ServiceIdentity.users, .vehicles, .rides] {
            do {
                let client = try connect(service, nil)
                _ = try await client.callRaw(InternalMethod.ping, params: EmptyObject(),
                                             options: RPCCallOptions(deadline: .now + .seconds(2), idempotent: true))
            } catch {
                return false
            }
        }
        return true
    }

    // MARK: Building blocks

    func call<P: Encodable & Sendable, R: Decodable>(
        _ service: ServiceIdentity, region: String? = nil, _ method: String, _ params: P,
        as: R.Type = R.self, context: RPCContext, idempotent: Bool
    ) async throws -> R {
        let raw = try await forward(service, region: region, method, params, context: context, idempotent: idempotent)
        do {
            // Lenient: a newer service may add result members this gateway does not know yet.
            return try raw.parsed().decode(as: R.self, strict: false)
        } catch {
            logger.error("upstream reply has an unexpected shape", metadata: ["method": "\(method)"])
            throw RPCError.internalError
        }
    }

    /// One call to a service of `region` (nil: this region). A call to another region whose
    /// service is unreachable (the request never left) is served by this region's own service
    /// instead: every region's services share the database, so this keeps a failed region's
    /// cities served (docs/operations.md). Each attempt is timed for `Server-Timing` (`remote`
    /// when the service is in another region) and named in `X-MovR-Region`; reads a standby may
    /// answer carry the caller's write fence, and after a write the reply's WAL position becomes
    /// the caller's fence and goes to the client (`X-MovR-LSN`, to echo as `X-MovR-Min-LSN`
    /// through another gateway).
    func hop<T>(_ service: ServiceIdentity, region: String?, _ method: String, context: RPCContext, idempotent: Bool,
                _ body: (any ServiceCaller, RPCCallOptions) async throws -> T) async throws -> T {
        var options = RPCCallOptions(from: context, idempotent: idempotent)
        let token = Self.bearerToken(context)
        if Self.replicaReadable.contains(method) {
            let fence = [try Self.clientFence(context), fences.fence(token: token)].compactMap { $0 }.max()
            if let fence { options.headers.append((RPCHeader.minimumLSN, fence.description)) }
        }
        if let region, region != self.region {
            let key = "\(service.rawValue)@\(region)"
            // A region this deployment does not run (no address in the topology) is served here.
            if let home = try? connect(service, region) {
                switch unreachable.route(key) {
                case .home:
                    var homeOptions = options
                    homeOptions.reportUnreachable = true
                    do {
                        let result = try await attempt(region, method, token: token, context: context) {
                            try await body(home, homeOptions)
                        }
                        unreachable.markReachable(key)
                        return result
                    } catch let failure as RPCUnreachableError {
                        if unreachable.markUnreachable(key) {
                            logger.notice("home region unreachable; serving its cities from this region",
                                          metadata: ["region": "\(region)", "service": "\(service.rawValue)",
                                                     "error": "\(failure)"])
                        }
                    }
                case .localAndProbe:
                    probe(home, key: key, service: service, region: region)
                case .local:
                    break
                }
            }
        }
        let local = try connect(service, nil)
        return try await attempt(self.region, method, token: token, context: context) { try await body(local, options) }
    }

    /// Asks an unreachable home service whether it answers again, off every request's path: a
    /// request never waits for a region that is still down (its connect attempt could take the
    /// whole connect timeout). An answer sends the region's cities home again; anything else
    /// keeps them here for another retry period.
    private func probe(_ home: any ServiceCaller, key: String, service: ServiceIdentity, region: String) {
        let unreachable = self.unreachable
        let logger = self.logger
        Task.detached {
            var options = RPCCallOptions(deadline: .now + .seconds(5), idempotent: true)
            options.reportUnreachable = true
            do {
                _ = try await home.callRaw(InternalMethod.ping, params: EmptyObject(), options: options)
                unreachable.markReachable(key)
                logger.notice("home region reachable again; serving its cities there",
                              metadata: ["region": "\(region)", "service": "\(service.rawValue)"])
            } catch {
                unreachable.markUnreachable(key)
            }
        }
    }

    private func attempt<T>(_ target: String, _ method: String, token: String?, context: RPCContext,
                            _ call: () async throws -> T) async throws -> T {
        context.servedBy?.record(target)
        let started = ContinuousClock.now
        defer {
            // Milliseconds to one decimal, in integers (no floating-point formatting per request).
            let (seconds, attoseconds) = (ContinuousClock.now - started).components
            let tenths = seconds * 10_000 + (attoseconds + 50_000_000_000_000) / 100_000_000_000_000
            RPCResponseHeaders.add(.init(isLocal: target == self.region, target: target, method: method,
                                         tenths: Int64(tenths)))
        }
        guard Self.writes.contains(method) else { return try await call() }
        let reply = RPCReplyMetadata()
        let result = try await RPCReplyMetadata.$current.withValue(reply) { try await call() }
        if let text = reply.lsn, let position = WALPosition(text) {
            if let token { fences.record(position, token: token) }
            RPCResponseHeaders.add(RPCHeader.lsn, position.description)
        }
        return result
    }

    /// The client's own `X-MovR-Min-LSN` (the `X-MovR-LSN` of a write it made elsewhere).
    static func clientFence(_ context: RPCContext) throws -> WALPosition? {
        guard let header = context.headers[RPCHeader.minimumLSN] else { return nil }
        guard let position = WALPosition(String(header.trimmingOptionalWhitespace())) else {
            throw RPCError.invalidParams(field: "X-MovR-Min-LSN", message: "X-MovR-Min-LSN must be a WAL position like 0/16B3748")
        }
        return position
    }

    /// Calls the owning service and hands its result to the client as it came: the service built
    /// it, the RPC client checked it is well-formed JSON, and the dispatcher splices the bytes
    /// into the reply; decoding and re-encoding it here would only cost time.
    func forward<P: Encodable & Sendable>(
        _ service: ServiceIdentity, region: String? = nil, _ method: String, _ params: P,
        context: RPCContext, idempotent: Bool
    ) async throws -> RawJSON {
        try await hop(service, region: region, method, context: context, idempotent: idempotent) { client, options in
            try await client.callRaw(method, params: params, options: options)
        }
    }

    /// The signed-in user, or 401.
    func authenticate(_ context: RPCContext) async throws -> SessionResult {
        guard let token = Self.bearerToken(context) else {
            throw RPCError.unauthenticated(reason: "missing_token")
        }
        switch sessionChecks.admit(token, deadline: context.deadline, mayQueue: RequestCost.current == nil) {
        case .alone:
            defer { sessionChecks.finished() }
            return try await call(.users, InternalMethod.Users.session, SessionTokenParams(token: token),
                                  as: SessionResult.self, context: context, idempotent: true)
        case .queued(let waiter):
            // Timed and counted for this call as its own hop would be (`Server-Timing`).
            return try await attempt(region, InternalMethod.Users.sessions, token: nil, context: context) {
                try await waiter.value()
            }
        }
    }

    static func bearerToken(_ context: RPCContext) -> String? {
        context.headers["authorization"].flatMap { BearerToken.parse(authorization: $0) }
    }

    /// Where the client is, by docs/architecture.md §3's order; the user's city is looked up only when nothing
    /// earlier decides (one extra hop, only for signed-in clients without location headers).
    func resolveLocation(explicitCity: String?, context: RPCContext,
                         session: SessionResult? = nil) async throws -> ResolvedLocation {
        let xCity = context.headers["x-city"]
        let xPlace = context.headers["x-place"]
        var userCity = session?.user.city
        if explicitCity == nil, xCity == nil, xPlace == nil, userCity == nil, Self.bearerToken(context) != nil {
            userCity = try? await authenticate(context).user.city
        }
        do {
            return try locality.resolve(explicitCity: explicitCity, xCity: xCity, xPlace: xPlace,
                                        userCity: userCity, gatewayRegion: self.region)
        } catch {
            throw Self.rpcError(error, field: explicitCity != nil ? "city" : nil)
        }
    }

    static func sourceName(_ source: ResolvedLocation.Source) -> String {
        switch source {
        case .param: "param"
        case .xCity: "x_city"
        case .xPlaceCity: "x_place_city"
        case .xPlaceCoordinates: "x_place_coordinates"
        case .user: "user"
        case .gateway: "gateway"
        }
    }

    static func rpcError(_ error: LocalityError, field: String?) -> RPCError {
        switch error {
        case .unknownCity:
            return RPCError.unknownCity(field: field ?? "city")
        case .invalidPlace:
            return RPCError(code: RPCError.Code.invalidParams, message: "X-Place must be 'city,latitude,longitude'",
                            reason: "invalid_place", field: "X-Place")
        default:
            return RPCError(code: RPCError.Code.invalidParams, message: "unknown location", reason: error.reason, field: field ?? "city")
        }
    }

    /// Runs a params struct's validation and maps its failure to -32602 naming the field.
    static func validated<P: APIParams>(_ params: P) throws -> P {
        do {
            try params.validate()
        } catch {
            throw RPCError.invalidParams(field: error.field, message: error.message)
        }
        return params
    }

    /// The key a create travels with: the client's, else a fresh random one, so that this
    /// gateway's own retries of the internal call name the same object (`IdempotentCreate`).
    static func idempotencyKey(_ clientKey: String?) -> String {
        clientKey ?? "gateway:\(UUIDText.lowercase(UUIDText.random()))"
    }

    // MARK: Registration

    /// Registers `method` so that, for every public method in the same order: its params decode
    /// strictly into the table's type (`PublicMethod.paramsType`), pass their validation (a
    /// `-32602` naming the field, before any service is called), and the caller gets the table's
    /// access (`PublicMethod.access`) — then `handler` runs with the session, when there is one.
    private func register<P: APIParams, R: Encodable & Sendable>(
        _ method: PublicMethod, _ params: P.Type, in dispatcher: inout RPCDispatcher,
        _ handler: @escaping @Sendable (P, SessionResult?, RPCContext) async throws -> R
    ) {
        precondition(ObjectIdentifier(method.paramsType) == ObjectIdentifier(P.self),
                     "\(method.rawValue) is registered with params \(P.self), the table says \(method.paramsType)")
        let api = self
        dispatcher.register(method.rawValue, params: P.self) { params, context in
            let params = try Self.validated(params)
            let session: SessionResult?
            switch method.access {
            case .anyone:
                session = nil
            case .bearerToken:
                guard Self.bearerToken(context) != nil else { throw RPCError.unauthenticated(reason: "missing_token") }
                session = nil
            case .signedIn:
                session = try await api.authenticate(context)
            case .admin:
                let signedIn = try await api.authenticate(context)
                guard signedIn.roles.contains("admin") else { throw RPCError.forbidden(reason: "admin_required") }
                session = signedIn
            }
            return try await handler(params, session, context)
        }
    }

    /// ``register(_:_:in:_:)`` for methods whose access is a session (`.signedIn`, `.admin`).
    private func registerSignedIn<P: APIParams, R: Encodable & Sendable>(
        _ method: PublicMethod, _ params: P.Type, in dispatcher: inout RPCDispatcher,
        _ handler: @escaping @Sendable (P, SessionResult, RPCContext) async throws -> R
    ) {
        switch method.access {
        case .signedIn, .admin: break
        case .anyone, .bearerToken: preconditionFailure("\(method.rawValue) has no session to give its handler")
        }
        register(method, params, in: &dispatcher) { params, session, context in
            guard let session else { throw RPCError.unauthenticated(reason: "missing_token") }
            return try await handler(params, session, context)
        }
    }

    // MARK: Methods

    private func registerCatalogue(_ dispatcher: inout RPCDispatcher) {
        let api = self
        let cities = locality.cities.map {
            CityInfo(city: $0.name, region: $0.region, latitude: $0.latitude, longitude: $0.longitude, radiusKm: $0.radiusKm)
        }
        let regions = locality.regions.map(\.name)
        register(.citiesList, EmptyObject.self, in: &dispatcher) { _, _, context in
            // Where the caller is, so a client (the web UI) can preselect its city.
            let location = try await api.resolveLocation(explicitCity: nil, context: context)
            return CitiesListResult(
                cities: cities, regions: regions, gatewayRegion: api.region,
                location: ClientLocationInfo(city: location.city, region: location.region, source: Self.sourceName(location.source)))
        }
    }

    private func registerAccounts(_ dispatcher: inout RPCDispatcher) {
        let api = self
        register(.usersRegister, UsersRegisterParams.self, in: &dispatcher) { params, _, context in
            let region: String
            do {
                region = try api.locality.region(ofCity: params.city)
            } catch let error as LocalityError {
                throw Self.rpcError(error, field: "city")
            }
            return try await api.forward(.users, region: api.route(region), InternalMethod.Users.register,
                                      InternalRegisterParams(params, clientAddress: context.clientAddress),
                                      context: context, idempotent: true)
        }
        register(.authLogin, AuthLoginParams.self, in: &dispatcher) { params, _, context in
            try await api.forward(.users, InternalMethod.Users.login,
                                      InternalLoginParams(username: params.username, password: params.password,
                                                          clientAddress: context.clientAddress),
                                      context: context, idempotent: false)
        }
        register(.authLogout, EmptyObject.self, in: &dispatcher) { _, _, context in
            guard let token = Self.bearerToken(context) else {  // present: the access check saw it
                throw RPCError.unauthenticated(reason: "missing_token")
            }
            return try await api.forward(.users, InternalMethod.Users.logout, SessionTokenParams(token: token),
                                      context: context, idempotent: true)
        }
        registerSignedIn(.usersMe, EmptyObject.self, in: &dispatcher) { _, session, context in
            context.servedBy?.record(api.region)
            return UserResult(user: session.user)
        }
        registerSignedIn(.usersDelete, EmptyObject.self, in: &dispatcher) { _, session, context in
            try await api.forward(.users, InternalMethod.Users.delete, UserIDParams(id: session.user.id),
                                  context: context, idempotent: true)
        }
    }

    private func registerVehicles(_ dispatcher: inout RPCDispatcher) {
        let api = self
        let locality = self.locality
        register(.vehiclesList, VehiclesListParams.self, in: &dispatcher) { params, _, context in
            let location = try await api.resolveLocation(explicitCity: params.city, context: context)
            // A region without a city (no location given) lists the region's first city.
            guard let city = location.city ?? locality.cities.first(where: { $0.region == location.region })?.name else {
                throw RPCError.unknownCity(message: "a city is required")
            }
            return try await api.forward(.vehicles, region: api.route(location.region), InternalMethod.Vehicles.list,
                                      InternalVehiclesListParams(city: city, limit: params.effectiveLimit,
                                                                 cursor: params.cursor),
                                      context: context, idempotent: true)
        }
        registerSignedIn(.vehiclesMine, VehiclesMineParams.self, in: &dispatcher) { params, session, context in
            try await api.forward(.vehicles, InternalMethod.Vehicles.owned,
                                  InternalVehiclesOwnedParams(ownerID: session.user.id, limit: params.effectiveLimit,
                                                              cursor: params.cursor),
                                  context: context, idempotent: true)
        }
        register(.vehiclesGet, VehiclesGetParams.self, in: &dispatcher) { params, _, context in
            try await api.forward(.vehicles, InternalMethod.Vehicles.get, params, context: context, idempotent: true)
        }
        registerSignedIn(.vehiclesAdd, VehiclesAddParams.self, in: &dispatcher) { params, session, context in
            let location = try await api.resolveLocation(explicitCity: params.city, context: context, session: session)
            guard let city = location.city else {
                throw RPCError.unknownCity(message: "a city is required")
            }
            let add = InternalVehiclesAddParams(
                idempotencyKey: Self.idempotencyKey(params.idempotencyKey),
                ownerID: session.user.id, city: city, type: params.type.rawValue, location: params.location,
                color: params.color, brand: params.brand, battery: params.battery)
            return try await api.forward(.vehicles, region: api.route(location.region), InternalMethod.Vehicles.add, add,
                                         context: context, idempotent: true)
        }
        registerSignedIn(.vehiclesRemove, VehiclesRemoveParams.self, in: &dispatcher) { params, session, context in
            try await api.forward(.vehicles, InternalMethod.Vehicles.remove,
                                  InternalVehiclesRemoveParams(id: params.id, ownerID: session.user.id),
                                  context: context, idempotent: true)
        }
        registerSignedIn(.vehiclesLocationHistory, LocationHistoryParams.self, in: &dispatcher) { params, session, context in
            // Positions are personal data: the owner's vehicles, a rider's ride in progress.
            try await api.forward(.vehicles, InternalMethod.Vehicles.locationHistory,
                                  InternalLocationHistoryParams(id: params.id, limit: params.effectiveLimit,
                                                                viewerID: session.user.id),
                                  context: context, idempotent: true)
        }
    }

    private func registerRides(_ dispatcher: inout RPCDispatcher) {
        let api = self
        registerSignedIn(.ridesStart, RidesStartParams.self, in: &dispatcher) { params, session, context in
            let location = try await api.resolveLocation(explicitCity: nil, context: context, session: session)
            let start = InternalRidesStartParams(
                idempotencyKey: Self.idempotencyKey(params.idempotencyKey),
                riderID: session.user.id, vehicleID: params.vehicleID)
            return try await api.forward(.rides, region: api.route(location.region), InternalMethod.Rides.start, start,
                                      context: context, idempotent: true)
        }
        registerSignedIn(.ridesUpdateLocation, RidesUpdateLocationParams.self, in: &dispatcher) { params, session, context in
            // Where the rider is (X-City, X-Place, then their home city): the ride's home region.
            let location = try await api.resolveLocation(explicitCity: nil, context: context, session: session)
            return try await api.forward(.rides, region: api.route(location.region), InternalMethod.Rides.updateLocation,
                                      InternalRidesUpdateLocationParams(rideID: params.rideID, riderID: session.user.id,
                                                                        location: params.location),
                                      context: context, idempotent: true)
        }
        registerSignedIn(.ridesEnd, RidesEndParams.self, in: &dispatcher) { params, session, context in
            let location = try await api.resolveLocation(explicitCity: nil, context: context, session: session)
            return try await api.forward(.rides, region: api.route(location.region), InternalMethod.Rides.end,
                                      InternalRidesEndParams(rideID: params.rideID, riderID: session.user.id,
                                                             location: params.location, battery: params.battery),
                                      context: context, idempotent: false)
        }
        registerSignedIn(.ridesList, RidesListParams.self, in: &dispatcher) { params, session, context in
            try await api.forward(.rides, InternalMethod.Rides.list,
                                  InternalRidesListParams(riderID: session.user.id, activeOnly: params.activeOnly ?? false,
                                                          limit: params.effectiveLimit, cursor: params.cursor),
                                  context: context, idempotent: true)
        }
        registerSignedIn(.ridesGet, RidesGetParams.self, in: &dispatcher) { params, session, context in
            try await api.forward(.rides, InternalMethod.Rides.get,
                                  InternalRidesGetParams(id: params.id, riderID: session.user.id),
                                  context: context, idempotent: true)
        }
    }

    private func registerPromoCodes(_ dispatcher: inout RPCDispatcher) {
        let api = self
        register(.promoCodesList, EmptyObject.self, in: &dispatcher) { _, _, context in
            try await api.forward(.rides, InternalMethod.Rides.promoList, EmptyObject(),
                               context: context, idempotent: true)
        }
        registerSignedIn(.promoCodesCreate, PromoCodesCreateParams.self, in: &dispatcher) { params, session, context in
            guard let expiresAt = params.expirationDate else {
                throw RPCError.invalidParams(field: "expires_at", message: "expires_at must be an RFC 3339 time")
            }
            let create = InternalPromoCreateParams(code: params.code, description: params.description,
                                                   percentOff: params.percentOff, expiresAt: expiresAt,
                                                   createdBy: session.user.id)
            return try await api.forward(.rides, InternalMethod.Rides.promoCreate, create,
                                      context: context, idempotent: true)
        }
        registerSignedIn(.promoCodesApply, PromoCodesApplyParams.self, in: &dispatcher) { params, session, context in
            try await api.forward(.rides, InternalMethod.Rides.promoApply,
                                  InternalPromoApplyParams(userID: session.user.id, code: params.code),
                                  context: context, idempotent: true)
        }
    }
}

/// What the gateway needs of a connection to a service: one internal call whose result comes
/// back as the JSON text the service sent (``RPCClient/callRaw(_:params:options:)``).
protocol ServiceCaller: Sendable {
    func callRaw<Params: Encodable & Sendable>(_ method: String, params: Params,
                                               options: RPCCallOptions) async throws -> RawJSON
}

extension RPCClient: ServiceCaller {}

/// The caller of `service` in `region` (nil: the gateway's own region); throws when the
/// deployment has no address for it.
typealias ServiceConnector = @Sendable (_ service: ServiceIdentity, _ region: String?) throws -> any ServiceCaller

/// Which home-region services to skip for now (see ``PublicAPI/unreachable``).
final class UnreachableServices: Sendable {
    private let retryAfter: Duration
    private let entries = NIOLockedValueBox([String: Entry]())

    struct Entry {
        /// When the next probe is due.
        var probeAt: ContinuousClock.Instant
        var probing = false
    }

    /// Where a request for a home-region service goes.
    enum Route: Equatable {
        /// To the home region (not known to be down).
        case home
        /// To this region's own service; the home one is down.
        case local
        /// To this region's own service, and this caller starts the probe that is due.
        case localAndProbe
    }

    init(retryAfter: Duration) {
        self.retryAfter = retryAfter
    }

    /// While `key` is marked unreachable every request goes local; once `retryAfter` has passed
    /// since the last failure, exactly one caller is told to probe it.
    func route(_ key: String, now: ContinuousClock.Instant = .now) -> Route {
        entries.withLockedValue { entries in
            guard var entry = entries[key] else { return .home }
            guard !entry.probing, now >= entry.probeAt else { return .local }
            entry.probing = true
            entries[key] = entry
            return .localAndProbe
        }
    }

    /// The service answered again: its outage is over.
    func markReachable(_ key: String) {
        entries.withLockedValue { entries in
            if entries[key] != nil { entries[key] = nil }
        }
    }

    /// Records a failure (of a request or a probe): the next probe is due `retryAfter` from
    /// now. Returns whether `key` was not already marked (log once per outage).
    @discardableResult
    func markUnreachable(_ key: String, now: ContinuousClock.Instant = .now) -> Bool {
        entries.withLockedValue { entries in
            let wasMarked = entries[key] != nil
            entries[key] = Entry(probeAt: now + retryAfter)
            return !wasMarked
        }
    }
}
