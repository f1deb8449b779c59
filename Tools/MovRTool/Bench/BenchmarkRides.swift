import Foundation
import Logging
import MovRAPI
import MovRDevTools
import MovRLocality
import MovRUsers
import MovRUUID

/// The benchmark's administrator (`movr load init`'s, granted the role), who may create promo
/// codes; its credentials sign in again for `auth.logout`'s calls.
struct BenchAdmin: Sendable {
    var username: String
    var password: String
    var token: String
    var userID: UUID
    var city: String
}

/// A signed-in rider of the benchmark with the vehicle it rides again and again.
struct BenchRider: Sendable {
    var token: String
    var userID: UUID
    var city: String
    var vehicle: UUID
    var location: Location
}

/// The ride cycle through the gateway: each worker owns one rider and one vehicle and sends
/// rides.start then rides.end, over and over (closed loop, or at the engine's fixed rate).
struct RideCycleWorkload: LoadWorkload {
    let client: PublicClient
    let riders: [BenchRider]

    struct Worker: LoadWorker {
        let client: PublicClient
        let rider: BenchRider
        var active: UUID?

        mutating func step() async -> LoadStep {
            if let ride = active {
                do {
                    // Checked (a JSON-RPC result), not decoded: nothing of it is used.
                    _ = try await client.callUnparsed("rides.end", RidesEndParams(rideID: ride, location: rider.location, battery: 80),
                                                      token: rider.token, city: rider.city)
                    active = nil
                    return LoadStep(.ridesEnd, .success)
                } catch {
                    active = nil
                    return LoadStep(.ridesEnd, .error(LoadOutcome.kind(of: error)))
                }
            }
            do {
                let started = try await client.call(
                    "rides.start", RidesStartParams(vehicleID: rider.vehicle, idempotencyKey: UUIDText.random().uuidString),
                    as: RideResult.self, token: rider.token, city: rider.city, idempotent: true)
                active = started.ride.id
                return LoadStep(.ridesStart, .success)
            } catch {
                return LoadStep(.ridesStart, .error(LoadOutcome.kind(of: error)))
            }
        }

        mutating func finish() async {
            guard let ride = active else { return }
            _ = try? await client.call("rides.end", RidesEndParams(rideID: ride, location: rider.location),
                                       as: RideResult.self, token: rider.token, city: rider.city)
            active = nil
        }
    }

    func makeWorker(index: Int, of count: Int) -> Worker {
        Worker(client: client, rider: riders[index % riders.count])
    }

    func prepare(concurrency: Int) async {
        await client.warm(connections: concurrency)
    }
}

/// vehicles.list through the gateway, rotating over the cities (the open-model sweep).
struct VehiclesListWorkload: LoadWorkload {
    let client: PublicClient
    let cities: [String]
    let limit: Int

    struct Worker: LoadWorker {
        let client: PublicClient
        let cities: [String]
        let limit: Int
        var next: Int

        mutating func step() async -> LoadStep {
            let city = cities[next % cities.count]
            next += 1
            do {
                // Checked as wrk checks the closed-loop runs (a result, not an error), not decoded.
                _ = try await client.callUnparsed("vehicles.list", VehiclesListParams(limit: limit), city: city,
                                                  idempotent: true)
                return LoadStep(.vehiclesList, .success)
            } catch {
                return LoadStep(.vehiclesList, .error(LoadOutcome.kind(of: error)))
            }
        }
    }

    func makeWorker(index: Int, of count: Int) -> Worker {
        Worker(client: client, cities: cities, limit: limit, next: index)
    }

    func prepare(concurrency: Int) async {
        await client.warm(connections: concurrency)
    }
}

extension Benchmark {
    /// Riders for the ride cycle: `movr load init`'s setup (riders, fleet owners, extra
    /// vehicles so 100-row pages are full), then each rider signs in and gets a vehicle of its
    /// city no other rider uses (taken from the end of the city's first 100-row page).
    func prepareRiders(stack: StackFile, count: Int, client: PublicClient, work: String) async throws
        -> (riders: [BenchRider], admin: BenchAdmin?) {
        let locality = try Locality.loadDefault()
        var setup = LoadSetup.Options()
        setup.usersPerCity = max(1, (count + locality.cities.count - 1) / locality.cities.count)
        setup.fleetOwnersPerCity = 1
        setup.vehiclesPerCity = options.quick ? 10 : 60
        setup.usersFilePath = work + "/bench-users.json"
        setup.fresh = true
        setup.concurrency = 8
        Console.line("creating riders and vehicles for the benchmark (movr load init's setup)...")
        let summary = try await LoadSetup(stack: stack, options: setup, logger: logger).run()
        let accounts = summary.users.accounts.filter { $0.role == .rider }
        var pages: [String: [Vehicle]] = [:]
        var used: [String: Int] = [:]
        var riders: [BenchRider] = []
        for account in accounts.prefix(count) {
            let login = try await PublicClient.retryingWhenAsked {
                try await client.call("auth.login", AuthLoginParams(username: account.username,
                                                                    password: summary.users.password),
                                      as: AuthLoginResult.self, city: account.city)
            }
            if pages[account.city] == nil {
                pages[account.city] = try await client.call("vehicles.list", VehiclesListParams(limit: 100),
                                                            as: VehiclesListResult.self, city: account.city).vehicles
            }
            let page = pages[account.city] ?? []
            let taken = used[account.city, default: 0]
            guard taken < page.count else { throw StackError("not enough vehicles in \(account.city) for the riders") }
            used[account.city] = taken + 1
            let vehicle = page[page.count - 1 - taken]
            riders.append(BenchRider(token: login.token, userID: login.user.id, city: account.city, vehicle: vehicle.id,
                                     location: vehicle.location))
        }
        guard riders.count == count else { throw StackError("only \(riders.count) of \(count) riders could be set up") }
        var admin: BenchAdmin?
        if let name = summary.admin, let account = summary.users.accounts.first(where: { $0.username == name }) {
            let login = try await PublicClient.retryingWhenAsked {
                try await client.call("auth.login", AuthLoginParams(username: name, password: summary.users.password),
                                      as: AuthLoginResult.self, city: account.city)
            }
            admin = BenchAdmin(username: name, password: summary.users.password, token: login.token, userID: login.user.id,
                               city: account.city)
        }
        return (riders, admin)
    }

    // MARK: The ride cycle's SQL, from the server log

    /// What one ride cycle sent to the users, rides and vehicles databases, by phase.
    struct CapturedCycle {
        var start: [BenchParse.LoggedStatement]
        var end: [BenchParse.LoggedStatement]
        var ids: [String: String]
        /// Lowercase hex SHA-256 of the rider's token: the bind of the session checks the
        /// gateway has the users service make for each call (how they are told from other
        /// statements of `movr_users`).
        var tokenHash: String
    }

    /// Runs `body` with `log_statement = all` (ALTER SYSTEM + pg_reload_conf, so the services'
    /// open connections log too, each line prefixed for ``BenchParse/loggedStatements(_:)``),
    /// and turns logging back off whatever happens; then returns the server log's text.
    func withStatementLogging(superuserURL: String, logPath: String, _ body: () async throws -> Void) async throws -> String {
        try await psql(superuserURL, [
            "ALTER SYSTEM SET log_statement = 'all'",
            "ALTER SYSTEM SET log_line_prefix = '%m [%p] %d '",
            "SELECT pg_reload_conf()",
        ])
        let reset = ["ALTER SYSTEM RESET log_statement", "ALTER SYSTEM RESET log_line_prefix", "SELECT pg_reload_conf()"]
        // No `defer`: psql runs asynchronously.
        do {
            try await Task.sleep(for: .milliseconds(300))
            try await body()
        } catch {
            try? await psql(superuserURL, reset)
            throw error
        }
        try await psql(superuserURL, reset)
        return (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// Runs one start and one end through the gateway between marker statements, with
    /// statement logging on, and reads their statements from the server log.
    func captureRideCycle(rider: BenchRider, client: PublicClient, superuserURL: String, logPath: String) async throws
        -> CapturedCycle {
        var ride: Ride?
        let log = try await withStatementLogging(superuserURL: superuserURL, logPath: logPath) {
            try await psql(superuserURL, ["SELECT 'movr-bench-capture-start'"])
            let started = try await client.call("rides.start", RidesStartParams(vehicleID: rider.vehicle,
                                                                                idempotencyKey: UUIDText.random().uuidString),
                                                as: RideResult.self, token: rider.token, city: rider.city).ride
            ride = started
            try await psql(superuserURL, ["SELECT 'movr-bench-capture-end'"])
            _ = try await client.call("rides.end", RidesEndParams(rideID: started.id, location: rider.location, battery: 80),
                                      as: RideResult.self, token: rider.token, city: rider.city)
            // The rides service deletes the end's outbox entry on its next acknowledgement pass
            // (every 200 ms), after the reply: wait until the log shows it, or the captured cycle
            // (and pgbench's script) would sometimes lack a statement the path runs.
            let waited = ContinuousClock.now
            while ContinuousClock.now - waited < .seconds(5) {
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                if let endMarker = log.range(of: "movr-bench-capture-end", options: .backwards),
                   log[endMarker.upperBound...].contains("DELETE FROM outbox") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await psql(superuserURL, ["SELECT 'movr-bench-capture-done'"])
        }
        guard let ride,
              let start = Self.window(in: log, from: "movr-bench-capture-start", to: "movr-bench-capture-end"),
              let end = Self.window(in: log, from: "movr-bench-capture-end", to: "movr-bench-capture-done") else {
            throw StackError("the capture markers are not in \(logPath)")
        }
        let ids = [ride.id.uuidString.lowercased(): "ride_id", rider.userID.uuidString.lowercased(): "rider_id",
                   rider.vehicle.uuidString.lowercased(): "vehicle_id"]
        return CapturedCycle(start: BenchParse.loggedStatements(start), end: BenchParse.loggedStatements(end), ids: ids,
                             tokenHash: try SessionToken.hashHex(rider.token))
    }

    func psql(_ url: String, _ statements: [String], output: String? = nil) async throws {
        let log = output ?? NSTemporaryDirectory() + "movr-bench-psql-\(getpid()).log"
        try? FileManager.default.removeItem(atPath: log)
        var arguments = ["/usr/bin/psql", url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
        for statement in statements { arguments += ["-c", statement] }
        let status = try await ToolProcess.run(arguments, outputPath: log)
        guard status == 0 else {
            throw StackError("psql failed (\(status)): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    func psqlLines(_ url: String, _ statement: String) async throws -> [String] {
        try await psqlLines(url, statements: [statement])
    }

    /// The output lines of `statements` run in one psql session, in order.
    func psqlLines(_ url: String, statements: [String]) async throws -> [String] {
        let log = NSTemporaryDirectory() + "movr-bench-psql-out-\(getpid()).log"
        try await psql(url, statements, output: log)
        return ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}
