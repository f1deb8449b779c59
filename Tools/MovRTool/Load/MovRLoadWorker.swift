import Foundation
import MovRAPI
import MovRLocality
import MovRRPC
import MovRUUID

/// One worker of ``MovRWorkload``: its own riders (signed in when first needed), what it last
/// saw of each city's available vehicles and of the promo codes. Every step sends exactly one
/// request; when the drawn operation lacks what it needs, the step sends the request that
/// provides it instead (sign in, list vehicles, list rides, list promo codes), so ride cycles
/// start -> update_location -> end form from real state.
public struct MovRLoadWorker: LoadWorker {
    enum RideState: Equatable {
        /// Not known since sign-in (an earlier run may have left a ride active).
        case unknown
        case idle
        case active(UUID)
    }

    struct Rider {
        var username: String
        var city: String
        var token: String?
        var ride = RideState.unknown
    }

    let workload: MovRWorkload
    let index: Int
    var riders: [Rider]
    var vehicles: [String: [UUID]] = [:]
    var promoCodes: [String] = []
    var registered = 0
    /// A start refused with vehicle_unavailable is retried at once with another vehicle.
    var retryStart: (rider: Int, attempts: Int)?
    /// After a sign-in refused as retryable (`503 overloaded`: the users service sheds password
    /// hashes it cannot start in time; `429`), the worker waits before its next sign-in, as a
    /// client should: 100 ms doubling to 2 s, with jitter. Without it every worker would
    /// retry at once, and the storm of refused sign-ins would be most of the load.
    var signInBackoff: (notBefore: ContinuousClock.Instant, delay: Duration)?
    var random = LoadRandom()

    init(workload: MovRWorkload, index: Int, accounts: [LoadUsersFile.Account]) {
        self.workload = workload
        self.index = index
        self.riders = accounts.map { Rider(username: $0.username, city: $0.city) }
    }

    public mutating func step() async -> LoadStep {
        if let retry = retryStart {
            retryStart = nil
            return await startRide(rider: retry.rider, attempts: retry.attempts)
        }
        return await perform(workload.mix.draw(using: &random))
    }

    public mutating func finish() async {
        guard !workload.keepRides else { return }
        for rider in riders.indices {
            guard case .active(let ride) = riders[rider].ride, let token = riders[rider].token else { continue }
            if (try? await call(RidesEndParams(rideID: ride, location: randomLocation(in: riders[rider].city)),
                                "rides.end", as: RideResult.self, token: token, city: riders[rider].city)) != nil {
                workload.ackJournal?.record(.rideEnded, ride.uuidString)
            }
        }
    }

    // MARK: Operations

    mutating func perform(_ operation: LoadOperation) async -> LoadStep {
        switch operation {
        case .vehiclesList, .authLogin:
            return await listVehicles(in: randomCity())
        case .vehiclesGet:
            let city = randomCity()
            guard let vehicle = vehicles[city]?.randomElement(using: &random) else { return await listVehicles(in: city) }
            return await send(.vehiclesGet, VehiclesGetParams(id: vehicle), as: VehicleResult.self, city: city,
                              idempotent: true)
        case .promoCodesList:
            return await listPromoCodes()
        case .usersMe, .ridesList, .promoCodesApply, .vehiclesAdd:
            if operation == .promoCodesApply, promoCodes.isEmpty { return await listPromoCodes() }
            switch await pickRider() {
            case .sent(let step): return step
            case .ready(let rider): return await perform(operation, as: rider)
            }
        case .ridesStart:
            return await startRide()
        case .ridesUpdateLocation, .ridesEnd:
            guard let rider = randomRider(where: { if case .active = $0.ride { true } else { false } }),
                  case .active(let ride) = riders[rider].ride else { return await startRide() }
            let location = randomLocation(in: riders[rider].city)
            if operation == .ridesUpdateLocation {
                return await send(.ridesUpdateLocation, RidesUpdateLocationParams(rideID: ride, location: location),
                                  as: EmptyObject.self, rider: rider)
            }
            return await endRide(rider: rider, ride: ride, location: location)
        case .usersRegister:
            return await register()
        case .promoCodesCreate:
            return await createPromoCode()
        }
    }

    /// The operations any signed-in rider can send.
    mutating func perform(_ operation: LoadOperation, as rider: Int) async -> LoadStep {
        switch operation {
        case .usersMe:
            return await send(.usersMe, EmptyObject(), as: UserResult.self, rider: rider, idempotent: true)
        case .promoCodesApply:
            guard let code = promoCodes.randomElement(using: &random) else { return await listPromoCodes() }
            // Idempotent by the API: applying a code again returns the same row.
            return await send(.promoCodesApply, PromoCodesApplyParams(code: code), as: UserPromoCodeResult.self,
                              rider: rider, idempotent: true)
        case .vehiclesAdd:
            return await addVehicle(rider: rider)
        default:
            return await listRides(rider: rider)
        }
    }

    /// rides.start for an idle rider; a rider in an unknown state is signed in or has their
    /// rides listed first; when every rider is riding, a ride ends instead.
    mutating func startRide(rider chosen: Int? = nil, attempts: Int = 0) async -> LoadStep {
        guard let rider = chosen ?? randomRider(where: { $0.ride == .idle && $0.token != nil })
                ?? randomRider(where: { $0.ride == .unknown }) else {
            if riders.contains(where: { if case .active = $0.ride { true } else { false } }) {
                return await perform(.ridesEnd)
            }
            return await register()
        }
        guard riders[rider].token != nil else { return await signIn(rider) }
        guard riders[rider].ride == .idle else { return await listRides(rider: rider) }
        let city = riders[rider].city
        guard let vehicle = vehicles[city]?.randomElement(using: &random) else { return await listVehicles(in: city) }
        do {
            let started = try await call(RidesStartParams(vehicleID: vehicle, idempotencyKey: UUIDText.random().uuidString),
                                         "rides.start", as: RideResult.self, token: riders[rider].token, city: city,
                                         idempotent: true)
            vehicles[city]?.removeAll { $0 == vehicle }
            riders[rider].ride = .active(started.ride.id)
            workload.ackJournal?.record(.rideStarted, started.ride.id.uuidString)
            return LoadStep(.ridesStart, .success)
        } catch {
            let step = failed(.ridesStart, error, rider: rider)
            if case .expected = step.outcome {
                // Someone else has it: forget it and try another one next.
                vehicles[city]?.removeAll { $0 == vehicle }
                if attempts < 3 { retryStart = (rider, attempts + 1) }
            }
            riders[rider].ride = Self.rideState(after: step, believed: riders[rider].ride)
            return step
        }
    }

    /// What the worker may still believe of a rider's ride after its rides.start or rides.end
    /// failed. Only a refusal that says nothing was done (the vehicle was someone else's: an
    /// expected outcome) keeps the belief. After any other failure the write may have committed
    /// with its answer lost (a region stopped mid-request, a deadline passed, a connection
    /// dropped), so the rider's rides are listed before their next start or end: a start sent
    /// again would meet the first one's ride (`409 active_ride_exists`), an end sent again the
    /// ride it ended (`409 ride_already_ended`), which a client that looks first never sends.
    static func rideState(after step: LoadStep, believed: RideState) -> RideState {
        if case .expected = step.outcome { return believed }
        return .unknown
    }

    mutating func endRide(rider: Int, ride: UUID, location: Location) async -> LoadStep {
        do {
            _ = try await call(RidesEndParams(rideID: ride, location: location, battery: Int.random(in: 5...100, using: &random)),
                               "rides.end", as: RideResult.self, token: riders[rider].token, city: riders[rider].city)
            riders[rider].ride = .idle
            workload.ackJournal?.record(.rideEnded, ride.uuidString)
            return LoadStep(.ridesEnd, .success)
        } catch {
            let step = failed(.ridesEnd, error, rider: rider)
            riders[rider].ride = Self.rideState(after: step, believed: riders[rider].ride)
            return step
        }
    }

    mutating func listRides(rider: Int) async -> LoadStep {
        do {
            let rides = try await call(RidesListParams(limit: 10), "rides.list", as: RidesListResult.self,
                                       token: riders[rider].token, city: riders[rider].city, idempotent: true).rides
            // A rider has at most one active ride, and it is their newest.
            riders[rider].ride = rides.first.flatMap { $0.isActive ? .active($0.id) : nil } ?? .idle
            return LoadStep(.ridesList, .success)
        } catch {
            return failed(.ridesList, error, rider: rider)
        }
    }

    mutating func listVehicles(in city: String) async -> LoadStep {
        do {
            // A mix that never picks a listed vehicle gets the reply checked as wrk checks it, so
            // the run spends the shared cores on the system, not on decoding pages it throws away.
            guard workload.mix.usesListedVehicles else {
                _ = try await workload.gateways.client(for: city).callUnparsed("vehicles.list", VehiclesListParams(),
                                                                               city: city, idempotent: true,
                                                                               reportUnreachable: true)
                return LoadStep(.vehiclesList, .success)
            }
            let listed = try await call(VehiclesListParams(), "vehicles.list", as: VehiclesListResult.self, city: city,
                                        idempotent: true)
            vehicles[city] = listed.vehicles.map(\.id)
            return LoadStep(.vehiclesList, .success)
        } catch {
            return failed(.vehiclesList, error)
        }
    }

    mutating func listPromoCodes() async -> LoadStep {
        do {
            promoCodes = try await call(EmptyObject(), "promo_codes.list", as: PromoCodesListResult.self,
                                        city: randomCity(), idempotent: true).promoCodes.map(\.code)
            return LoadStep(.promoCodesList, .success)
        } catch {
            return failed(.promoCodesList, error)
        }
    }

    mutating func signIn(_ rider: Int) async -> LoadStep {
        if let backoff = signInBackoff, backoff.notBefore > .now {
            try? await Task.sleep(until: backoff.notBefore, clock: .continuous)
        }
        do {
            riders[rider].token = try await call(AuthLoginParams(username: riders[rider].username, password: workload.password),
                                                 "auth.login", as: AuthLoginResult.self, city: riders[rider].city).token
            riders[rider].ride = .unknown
            signInBackoff = nil
            return LoadStep(.authLogin, .success)
        } catch {
            if (error as? RPCError)?.data?.retryable == true {
                signInBackoff = Self.nextBackoff(after: signInBackoff?.delay, using: &random)
            }
            return failed(.authLogin, error)
        }
    }

    /// The wait after a retryable refusal: 100 ms, doubling up to 2 s; the instant is drawn
    /// between half and all of it, so workers refused together do not return together.
    static func nextBackoff(after previous: Duration?, using random: inout some RandomNumberGenerator)
        -> (notBefore: ContinuousClock.Instant, delay: Duration) {
        let delay = min((previous ?? .milliseconds(50)) * 2, .seconds(2))
        let wait = Int64.random(in: delay.inMicroseconds / 2 ... delay.inMicroseconds, using: &random)
        return (.now + .microseconds(wait), delay)
    }

    enum RiderPick {
        case ready(Int)
        /// The step went to signing the rider in (or registering one) instead.
        case sent(LoadStep)
    }

    /// Any of the worker's riders, signed in first when needed; a worker without riders
    /// registers one.
    mutating func pickRider() async -> RiderPick {
        guard let rider = randomRider(where: { _ in true }) else { return .sent(await register()) }
        guard riders[rider].token != nil else { return .sent(await signIn(rider)) }
        return .ready(rider)
    }

    /// A new rider, unique to this run and worker, who joins this worker's riders.
    mutating func register() async -> LoadStep {
        registered += 1
        let city = randomCity()
        let username = "\(workload.prefix)_\(workload.runTag)\(index)_\(registered)"
        do {
            _ = try await call(UsersRegisterParams(username: username, password: workload.password,
                                                   email: "\(username)@example.com", firstName: "Load",
                                                   lastName: "Rider", city: city),
                               "users.register", as: UserResult.self, city: city)
            riders.append(Rider(username: username, city: city))
            workload.ackJournal?.record(.userRegistered, username)
            return LoadStep(.usersRegister, .success)
        } catch {
            return failed(.usersRegister, error)
        }
    }

    mutating func addVehicle(rider: Int) async -> LoadStep {
        let city = riders[rider].city
        let types = VehicleType.allCases
        let params = VehiclesAddParams(type: types[Int.random(in: 0..<types.count, using: &random)], city: city,
                                       location: randomLocation(in: city), color: "grey", brand: "Loadgen",
                                       battery: Int.random(in: 20...100, using: &random),
                                       idempotencyKey: UUIDText.random().uuidString)
        do {
            let added = try await call(params, "vehicles.add", as: VehicleResult.self, token: riders[rider].token,
                                       city: city, idempotent: true)
            vehicles[city, default: []].append(added.vehicle.id)
            workload.ackJournal?.record(.vehicleAdded, added.vehicle.id.uuidString)
            return LoadStep(.vehiclesAdd, .success)
        } catch {
            return failed(.vehiclesAdd, error, rider: rider)
        }
    }

    mutating func createPromoCode() async -> LoadStep {
        guard let token = workload.adminToken else { return await listPromoCodes() }
        let code = "LOAD" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).uppercased()
        let params = PromoCodesCreateParams(code: code, description: "movr load", percentOff: Int.random(in: 5...30, using: &random),
                                            expiresAt: RFC3339.string(from: Date().addingTimeInterval(300)))
        do {
            _ = try await call(params, "promo_codes.create", as: PromoCodeResult.self, token: token, city: randomCity(),
                               idempotent: true)
            promoCodes.append(code)
            return LoadStep(.promoCodesCreate, .success)
        } catch {
            return failed(.promoCodesCreate, error)
        }
    }

    // MARK: Plumbing

    /// A request whose answer changes no worker state.
    mutating func send<P: Encodable & Sendable, R: Decodable>(_ operation: LoadOperation, _ params: P, as: R.Type,
                                                             rider: Int? = nil, city: String? = nil,
                                                             idempotent: Bool = false) async -> LoadStep {
        do {
            _ = try await call(params, operation.rawValue, as: R.self, token: rider.flatMap { riders[$0].token },
                               city: city ?? rider.map { riders[$0].city } ?? randomCity(),
                               idempotent: idempotent)
            return LoadStep(operation, .success)
        } catch {
            return failed(operation, error, rider: rider)
        }
    }

    func call<P: Encodable & Sendable, R: Decodable>(_ params: P, _ method: String, as: R.Type, token: String? = nil,
                                                    city: String, idempotent: Bool = false) async throws -> R {
        try await workload.gateways.client(for: city).call(method, params, as: R.self, token: token, city: city,
                                                           idempotent: idempotent, reportUnreachable: true)
    }

    /// Classifies a failure; a refused token signs the rider out so the next use signs in again,
    /// and an answer saying the rider's ride is not what the worker believed (gone, or ended)
    /// makes the worker look again (`rides.list`) before it uses that ride. (A rides.start or
    /// rides.end that failed makes it look again whatever the answer: ``rideState(after:believed:)``.)
    mutating func failed(_ operation: LoadOperation, _ error: any Error, rider: Int? = nil) -> LoadStep {
        let kind = LoadOutcome.kind(of: error)
        if let rider, (error as? RPCError)?.code == RPCError.Code.unauthenticated {
            riders[rider].token = nil
            riders[rider].ride = .unknown
        }
        if let rider, let reason = (error as? RPCError)?.data?.reason,
           ["ride_already_ended", "ride_not_found", "active_ride_exists"].contains(reason) {
            riders[rider].ride = .unknown
        }
        let expected = MovRWorkload.expectedOutcomes.contains("\(operation.rawValue) \(kind)")
        return LoadStep(operation, expected ? .expected(kind) : .error(kind))
    }

    mutating func randomRider(where predicate: (Rider) -> Bool) -> Int? {
        riders.indices.filter { predicate(riders[$0]) }.randomElement(using: &random)
    }

    mutating func randomCity() -> String {
        workload.cities.randomElement(using: &random)?.name ?? "new york"
    }

    mutating func randomLocation(in city: String) -> Location {
        guard let city = workload.cities.first(where: { $0.name == city }) ?? workload.locality.city(named: city) else {
            return Location(latitude: 0, longitude: 0)
        }
        let point = workload.locality.randomPoint(in: city, using: &random)
        return Location(latitude: point.latitude, longitude: point.longitude)
    }
}
