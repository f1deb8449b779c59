import Foundation
import Logging
import MovRAPI
import MovRDevTools
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import MovRService
import MovRUsers
import MovRUUID
import NIOPosix

/// A result the benchmark does not look at (decoding it would only add client time).
struct IgnoredResult: Decodable {
    init(from decoder: any Decoder) throws {}
}

extension Benchmark {
    // MARK: 3. Ride cycle

    func rideCycle(stack: StackFile, riders: [BenchRider], client: PublicClient, work: String, stackDirectory: String,
                   processes: BenchProcesses) async throws -> BenchResults.RideCycle {
        Console.line("ride cycle: capturing the SQL of one cycle from the server log...")
        let captured = try await captureRideCycle(rider: riders[0], client: client, superuserURL: stack.databaseURL,
                                                  logPath: stackDirectory + "/pgdata/server.log")
        let ids = Set(captured.ids.keys)
        func script(_ database: String, preamble: String, prefix: String, ids: Set<String> = ids) throws -> RideSQLScript.Script {
            let start = RideSQLScript.relevant(captured.start, database: database, ids: ids)
            let end = RideSQLScript.relevant(captured.end, database: database, ids: ids)
            guard !start.isEmpty || !end.isEmpty else {
                throw StackError("no statements of \(database) were captured for the ride cycle")
            }
            return RideSQLScript.make(preamble: preamble, start: start, end: end, variables: captured.ids, prefix: prefix)
        }
        let rides = try script("movr_rides", preamble:
            "SELECT gen_random_uuid() AS ride_id, gen_random_uuid() AS rider_id, gen_random_uuid() AS vehicle_id \\gset",
                               prefix: "r")
        // Each pgbench client reserves and releases a vehicle of its own (ones no rider uses).
        let vehiclesURL = databaseURL(stack.databaseURL, "movr_vehicles")
        let riderVehicles = riders.map { "'\($0.vehicle.uuidString.lowercased())'" }.joined(separator: ",")
        let spare = try await psqlLines(vehiclesURL, """
            SELECT id FROM vehicles WHERE status = 'available' AND id NOT IN (\(riderVehicles)) ORDER BY id DESC LIMIT \(options.connections)
            """)
        guard spare.count == options.connections else { throw StackError("not enough spare vehicles for pgbench") }
        let array = "ARRAY[" + spare.map { "'\($0)'" }.joined(separator: ",") + "]"
        let vehicles = try script("movr_vehicles", preamble:
            "SELECT gen_random_uuid() AS ride_id, (\(array))[:client_id % \(spare.count) + 1] AS vehicle_id \\gset",
                                  prefix: "v")
        // The gateway checks the rider's session in the users service for each call: those
        // statements are the path's too. Their one bind is the token's hash, a `-D` constant: every
        // pgbench client reads the same (real) session, as each rider reads its own.
        let users = try script("movr_users", preamble: "", prefix: "u", ids: [captured.tokenHash])
        let ridesPath = work + "/ride-cycle-rides.sql", vehiclesPath = work + "/ride-cycle-vehicles.sql"
        let usersPath = work + "/ride-cycle-users.sql"
        try rides.text.write(toFile: ridesPath, atomically: true, encoding: .utf8)
        try vehicles.text.write(toFile: vehiclesPath, atomically: true, encoding: .utf8)
        try users.text.write(toFile: usersPath, atomically: true, encoding: .utf8)
        var cycle = BenchResults.RideCycle(
            sqlSource: "captured from the PostgreSQL server log of this run (`ALTER SYSTEM SET log_statement = 'all'` + "
                + "`pg_reload_conf()` for one rides.start + rides.end through the gateway, between marker statements); "
                + "the statements of movr_rides and movr_vehicles whose binds carry the cycle's ride, rider or vehicle id "
                + "(plus the outbox delete), text as logged, binds kept as binds (`-M prepared`, typed by casts): the ids "
                + "come per transaction from a `gen_random_uuid()` preamble (one extra round trip per script), every "
                + "other value is a `-D` constant; in movr_users, the session checks the gateway has the users service make "
                + "for each call (their bind is the rider's token hash, a constant; no preamble). pgbench runs the three "
                + "databases' scripts separately (\(users.startCommands.count + users.endCommands.count) users, "
                + "\(rides.startCommands.count + rides.endCommands.count) rides, "
                + "\(vehicles.startCommands.count + vehicles.endCommands.count) vehicles statements per cycle).",
            ridesScript: rides.text, vehiclesScript: vehicles.text, usersScript: users.text)
        let ridesURL = databaseURL(stack.databaseURL, "movr_rides")
        let usersURL = databaseURL(stack.databaseURL, "movr_users")
        let workload = RideCycleWorkload(client: client, riders: riders)
        for run in 1...options.runs {
            Console.line("ride cycle run \(run)/\(options.runs): pgbench rides, pgbench vehicles, gateway...")
            // What PostgreSQL (and pgbench) use per cycle when pgbench sends the statements, to set
            // beside PostgreSQL's CPU per cycle when the path sends them.
            var sqlCPU: [String: Double] = [:]
            func measured(_ script: String, _ url: String, _ name: String, _ defines: [String: String]) async throws
                -> (run: BenchResults.Run, output: BenchParse.PgbenchOutput, latencies: [Double]) {
                let before = processes.cpuTicks()
                let result = try await pgbench(script: script, databaseURL: url, clients: options.connections, work: work,
                                               name: name, defines: defines)
                sqlCPU.merge(BenchProcesses.sqlCPU(before: before, after: processes.cpuTicks(),
                                                   transactions: result.run.requests), uniquingKeysWith: +)
                return result
            }
            // Each tool starts from a vacuumed database, not from the dead row versions the other
            // left (the cycle updates the same vehicles thousands of times a run).
            if let failure = await vacuum(superuserURL: stack.databaseURL, databases: ["movr_rides", "movr_vehicles"]) {
                cycle.errors.append(failure)
            }
            let ridesRun = try await measured(ridesPath, ridesURL, "cycle-rides", rides.defines)
            cycle.pgbenchRides.append(ridesRun.run.throughput)
            if ridesRun.run.errors > 0 { cycle.errors.append("pgbench rides: \(ridesRun.run.errors) failed") }
            let vehiclesRun = try await measured(vehiclesPath, vehiclesURL, "cycle-vehicles", vehicles.defines)
            cycle.pgbenchVehicles.append(vehiclesRun.run.throughput)
            if vehiclesRun.run.errors > 0 { cycle.errors.append("pgbench vehicles: \(vehiclesRun.run.errors) failed") }
            let usersRun = try await measured(usersPath, usersURL, "cycle-users", users.defines)
            cycle.pgbenchUsers.append(usersRun.run.throughput)
            if usersRun.run.errors > 0 { cycle.errors.append("pgbench users: \(usersRun.run.errors) failed") }
            cycle.pgbenchCPU.append(sqlCPU)
            if let failure = await vacuum(superuserURL: stack.databaseURL, databases: ["movr_rides", "movr_vehicles"]) {
                cycle.errors.append(failure)
            }
            let before = processes.cpuTicks()
            let switchesBefore = processes.contextSwitches()
            let report = await LoadGenerator.run(LoadConfiguration(duration: Double(options.seconds),
                                                                   concurrency: options.connections), workload: workload)
            let ends = report.operation(.ridesEnd)
            let starts = report.operation(.ridesStart)
            let cycles = ends?.count ?? 0
            cycle.cpu.append(BenchProcesses.microsPerRequest(before: before, after: processes.cpuTicks(), requests: cycles))
            cycle.switches.append(BenchProcesses.switchesPerRequest(before: switchesBefore, after: processes.contextSwitches(),
                                                                    requests: cycles))
            let errors = report.totals.errors
            for outcome in report.errors { cycle.errors.append("\(outcome.operation) \(outcome.kind) x\(outcome.count)") }
            cycle.gateway.append(BenchResults.Run(throughput: Double(cycles) / report.elapsedSeconds,
                                                  p50Ms: (starts?.p50Ms ?? 0) + (ends?.p50Ms ?? 0),
                                                  p99Ms: max(starts?.p99Ms ?? 0, ends?.p99Ms ?? 0),
                                                  errors: errors, requests: cycles))
        }
        let maximum = BenchParse.median(cycle.gateway.map(\.throughput))
        // The statements at the path's own cycle rate (pgbench -R): what they cost PostgreSQL
        // at that rate with no MovR in the way, beside the flat-out pgbench runs above.
        if maximum > 0 {
            Console.line("ride cycle SQL at the path's rate: pgbench -R \(Int(maximum)) on each database...")
            var sqlCPU: [String: Double] = [:]
            do {
                for (script, url, name, defines) in [(ridesPath, ridesURL, "cycle-rides-rate", rides.defines),
                                                     (vehiclesPath, vehiclesURL, "cycle-vehicles-rate", vehicles.defines),
                                                     (usersPath, usersURL, "cycle-users-rate", users.defines)] {
                    let before = processes.cpuTicks()
                    let result = try await pgbench(script: script, databaseURL: url, clients: options.connections, work: work,
                                                   name: name, defines: defines, rate: maximum)
                    if result.run.errors > 0 { cycle.errors.append("pgbench \(name): \(result.run.errors) failed") }
                    sqlCPU.merge(BenchProcesses.sqlCPU(before: before, after: processes.cpuTicks(),
                                                       transactions: result.run.requests), uniquingKeysWith: +)
                }
                cycle.sqlAtPathRate = maximum
                cycle.sqlCPUAtPathRate = sqlCPU
            } catch {
                // A comparison beside the cycle's figures: its failure is reported, the cycle kept.
                cycle.errors.append("pgbench at the path's rate: \(error)")
            }
        }
        // Open model at half the closed-loop cycle rate (two requests per cycle), as many runs
        // as the closed loop's (one run's p99 is one draw of a noisy tail), each with what else
        // ran and the database's upkeep, and followed by pgbench at the same cycle rate.
        if maximum > 0 {
            let upkeepStatements = await upkeepStatements(superuserURL: stack.databaseURL)
            var runs: [[BenchResults.SweepPoint]] = []
            for run in 1...max(1, options.runs) {
                Console.line("ride cycle open model at 50% of max: \(Int(maximum)) req/s, run \(run)/\(max(1, options.runs))...")
                if let failure = await vacuum(superuserURL: stack.databaseURL, databases: ["movr_rides", "movr_vehicles"]) {
                    cycle.errors.append(failure)
                }
                let (points, error) = await rideHalfRateRun(
                    cycleRate: maximum / 2, workload: workload, superuserURL: stack.databaseURL,
                    upkeepStatements: upkeepStatements, processes: processes, work: work,
                    scripts: [(ridesPath, ridesURL, "half-rides", rides.defines),
                              (vehiclesPath, vehiclesURL, "half-vehicles", vehicles.defines)])
                if let error { cycle.errors.append(error) }
                runs.append(points)
            }
            cycle.halfRate = BenchResults.SweepPoint.medianRun(ofCycles: runs)
        }
        // One-client SQL latency per phase, from pgbench -r (mean per statement, both databases).
        let ridesOne = try await pgbench(script: ridesPath, databaseURL: ridesURL, clients: 1, work: work, name: "cycle-rides-1",
                                         defines: rides.defines, seconds: max(2, options.seconds / 2))
        let vehiclesOne = try await pgbench(script: vehiclesPath, databaseURL: vehiclesURL, clients: 1, work: work,
                                            name: "cycle-vehicles-1", defines: vehicles.defines,
                                            seconds: max(2, options.seconds / 2))
        let usersOne = try await pgbench(script: usersPath, databaseURL: usersURL, clients: 1, work: work,
                                         name: "cycle-users-1", defines: users.defines,
                                         seconds: max(2, options.seconds / 2))
        func sum(_ output: BenchParse.PgbenchOutput, _ commands: [Int]) -> Double {
            commands.compactMap { $0 < output.statementLatencies.count ? output.statementLatencies[$0].ms : nil }.reduce(0, +)
        }
        cycle.oneClientSQLMs = [
            "rides.start": sum(usersOne.output, users.startCommands) + sum(ridesOne.output, rides.startCommands)
                + sum(vehiclesOne.output, vehicles.startCommands),
            "rides.end": sum(usersOne.output, users.endCommands) + sum(ridesOne.output, rides.endCommands)
                + sum(vehiclesOne.output, vehicles.endCommands),
        ]
        return cycle
    }

    // MARK: 4. Single-client latencies

    /// The public methods the single-client section times, in the report's order. Not timed:
    /// users.register and auth.login (each call hashes a password with scrypt, the method's
    /// work by design, and registrations are throttled per client address) and users.delete
    /// (each call needs an account made that way).
    static let timedMethods = [
        "cities.list", "users.me", "auth.logout", "vehicles.list", "vehicles.get", "vehicles.add", "vehicles.mine",
        "vehicles.location_history", "vehicles.remove", "rides.start", "rides.update_location", "rides.end",
        "rides.list", "rides.get", "promo_codes.list", "promo_codes.create", "promo_codes.apply",
    ]

    func singleClientLatencies(riders: [BenchRider], admin: BenchAdmin?, client: PublicClient, cities: [String],
                               cycle: BenchResults.RideCycle?, work: String, vehiclesURL: String,
                               superuserURL: String, logPath: String) async throws -> [BenchResults.Latency] {
        let rider = riders[riders.count - 1]
        let calls = options.latencyCalls
        Console.line("single-client latencies, \(calls) calls per method...")
        // On an event loop of the client, as the load engine's workers run: each call's reply
        // resumes the caller on the thread that read it. Replies the caller does not use are
        // checked as wrk checks them (a JSON-RPC result holding well-formed JSON), not decoded:
        // decoding 25 vehicles into a tree is the client's cost, not the path's.
        let (samples, errors) = await RPCEventLoopPreference.run(on: MultiThreadedEventLoopGroup.singleton.next()) {
            await Self.sampleSingleClient(rider: rider, admin: admin, client: client, cities: cities, calls: calls)
        }
        // After the calls: the replays of the writes add rows (a few hundred vehicles, codes,
        // positions) that the timed calls should not find. The sampled codes expire first.
        if admin != nil { try await Task.sleep(for: Self.sampledCodeLifetime) }
        Console.line("single-client latencies: capturing each method's SQL from the server log...")
        let methodSQL = try await methodStatementLatencies(rider: rider, admin: admin, client: client, city: cities[0],
                                                           superuserURL: superuserURL, logPath: logPath, work: work)
        // The list statement with one client: p50 from pgbench's per-transaction log.
        let listScript = work + "/vehicles-list-25.sql"
        let listOne = try await pgbench(script: listScript, databaseURL: vehiclesURL, clients: 1, work: work, name: "list-1",
                                        seconds: max(2, options.seconds / 2))
        return Self.timedMethods.map { method in
            let values = samples[method] ?? []
            var sql: Double?
            var source: String?
            switch method {
            case "vehicles.list":
                sql = listOne.run.p50Ms
                source = "pgbench -c 1 p50, `VehiclesStore.firstPageQuery` (25)"
            case "rides.start", "rides.end":
                sql = cycle?.oneClientSQLMs[method]
                source = sql == nil ? nil : "pgbench -c 1 -r: sum of the captured statements' means (users + rides + vehicles)"
            default:
                sql = methodSQL[method]?.ms ?? nil
                source = methodSQL[method]?.source
            }
            let hops = MethodSQL.hops[method] ?? 2
            return BenchResults.Latency(method: method, calls: values.count, p50Ms: BenchParse.percentile(values, 50),
                                        p99Ms: BenchParse.percentile(values, 99), errors: errors[method] ?? 0,
                                        sqlP50Ms: sql, sqlSource: source, hops: hops)
        }
    }

    /// Who calls and what earlier calls left for later ones (a vehicle added, then removed; a
    /// code created, then applied; a session opened, then ended; the ride in progress), shared
    /// by the timed calls and the captured ones so each method is sent by one piece of code.
    final class CallState {
        let rider: BenchRider
        let admin: BenchAdmin?
        /// The city of anonymous calls (vehicles.list, promo_codes.list).
        var city: String
        var activeRide: UUID?
        var lastRide: UUID?
        var vehicles: [UUID] = []
        var codes: [String] = []
        var sessions: [String] = []
        /// How long the codes promo_codes.create makes live.
        var codeLifetime: Duration = .seconds(600)

        init(rider: BenchRider, admin: BenchAdmin?, city: String) {
            self.rider = rider
            self.admin = admin
            self.city = city
        }

        func take<Value>(_ values: inout [Value], for method: String) throws -> Value {
            guard !values.isEmpty else { throw StackError("\(method): nothing left by an earlier call") }
            return values.removeFirst()
        }
    }

    /// Sends one call of `method` through the gateway as the rider (the administrator for the
    /// promo code writes and sign-outs); returns the values a write's replay must renew.
    static func send(_ method: String, _ state: CallState, client: PublicClient) async throws -> [String: MethodSQL.Fresh] {
        let rider = state.rider
        func asRider<P: Encodable & Sendable>(_ params: P) async throws {
            _ = try await client.callUnparsed(method, params, token: rider.token, city: rider.city)
        }
        func administrator() throws -> BenchAdmin {
            guard let admin = state.admin else { throw StackError("\(method) needs the benchmark's administrator") }
            return admin
        }
        switch method {
        case "cities.list":
            _ = try await client.callUnparsed(method, EmptyObject())
        case "users.me":
            try await asRider(EmptyObject())
        case "vehicles.list":
            _ = try await client.callUnparsed(method, VehiclesListParams(limit: 25), city: state.city)
        case "vehicles.get":
            _ = try await client.callUnparsed(method, VehiclesGetParams(id: rider.vehicle), city: rider.city)
        case "vehicles.add":
            let vehicle = try await client.call(method, VehiclesAddParams(type: .scooter, city: rider.city, location: rider.location,
                                                                          color: "black", brand: "Bench", battery: 90),
                                                as: VehicleResult.self, token: rider.token, city: rider.city).vehicle
            state.vehicles.append(vehicle.id)
            return [vehicle.id.uuidString.lowercased(): .uuid]
        case "vehicles.mine":
            try await asRider(VehiclesMineParams(limit: 10))
        case "vehicles.remove":
            // Replayed, each transaction removes another live vehicle of the rider.
            let vehicle = try state.take(&state.vehicles, for: method)
            try await asRider(VehiclesRemoveParams(id: vehicle))
            return [vehicle.uuidString.lowercased(): .liveRow(.vehicle, count: liveRowCopies)]
        case "vehicles.location_history":
            // The rider of a ride in progress sees its positions.
            try await asRider(LocationHistoryParams(id: rider.vehicle, limit: 10))
        case "rides.start":
            let ride = try await client.call(method, RidesStartParams(vehicleID: rider.vehicle,
                                                                      idempotencyKey: UUIDText.random().uuidString),
                                             as: RideResult.self, token: rider.token, city: rider.city).ride.id
            state.activeRide = ride
            state.lastRide = ride
        case "rides.update_location", "rides.end":
            guard let ride = state.activeRide else { throw StackError("\(method): no ride in progress") }
            if method == "rides.end" {
                state.activeRide = nil
                try await asRider(RidesEndParams(rideID: ride, location: rider.location, battery: 80))
            } else {
                try await asRider(RidesUpdateLocationParams(rideID: ride, location: rider.location))
            }
        case "rides.list":
            try await asRider(RidesListParams(limit: 10))
        case "rides.get":
            guard let ride = state.lastRide else { throw StackError("\(method): no ride yet") }
            try await asRider(RidesGetParams(id: ride))
        case "promo_codes.list":
            _ = try await client.callUnparsed(method, EmptyObject(), city: state.city)
        case "promo_codes.create":
            let admin = try administrator()
            let code = "BENCH" + String(UInt64.random(in: 0...UInt64.max), radix: 36).uppercased()
            let params = PromoCodesCreateParams(code: code, description: "movr bench", percentOff: 10,
                                                expiresAt: Date().addingTimeInterval(state.codeLifetime.inSeconds))
            _ = try await client.callUnparsed(method, params, token: admin.token, city: admin.city)
            state.codes.append(code)
            return [code.lowercased(): .text(prefix: "B")]
        case "promo_codes.apply":
            // Replayed, each transaction applies the code for another user id.
            let admin = try administrator()
            _ = try await client.callUnparsed(method, PromoCodesApplyParams(code: try state.take(&state.codes, for: method)),
                                              token: admin.token, city: admin.city)
            return [admin.userID.uuidString.lowercased(): .uuid]
        case "auth.logout":
            // Replayed, each transaction revokes another live session of the administrator.
            let admin = try administrator()
            let token = try state.take(&state.sessions, for: method)
            _ = try await client.callUnparsed(method, EmptyObject(), token: token, city: admin.city)
            return [try SessionToken.hashHex(token): .liveRow(.session, count: liveRowCopies)]
        default:
            throw StackError("the benchmark does not send \(method)")
        }
        return [:]
    }

    /// The one-client SQL latency of the methods the single-client section times besides
    /// vehicles.list and the ride cycle's two (their statements are measured with those
    /// phases): each call captured three times from the server log, its statements timed with
    /// pgbench. One ride of the rider stays active through it, so rides.update_location's and
    /// vehicles.location_history's statements find the active ride they find on the path. The
    /// promo codes and sign-outs need the administrator; without one they are not measured.
    func methodStatementLatencies(rider: BenchRider, admin: BenchAdmin?, client: PublicClient, city: String,
                                  superuserURL: String, logPath: String,
                                  work: String) async throws -> [String: (ms: Double?, source: String)] {
        let state = CallState(rider: rider, admin: admin, city: city)
        _ = try await Self.send("rides.start", state, client: client)
        // Reads first, then the writes: the replays run in this order, so no read is timed on
        // the rows a write's replay added.
        var methods = ["cities.list", "users.me", "vehicles.get", "vehicles.mine", "vehicles.location_history", "rides.list",
                       "rides.get", "promo_codes.list", "rides.update_location", "vehicles.add", "vehicles.remove"]
        if let admin {
            methods += ["promo_codes.create", "promo_codes.apply", "auth.logout"]
            // The sessions the captured sign-outs end, opened before logging starts.
            for _ in 0..<3 { state.sessions.append(try await Self.signIn(admin, client: client)) }
        }
        let calls = methods.map { method in
            MethodCall(method: method, prepare: { try await Self.prepare(method, state, client: client) }) {
                try await Self.send(method, state, client: client)
            }
        }
        do {
            let captured = try await captureMethods(calls, superuserURL: superuserURL, logPath: logPath, work: work)
            let latencies = try await methodSQLLatencies(captured, order: methods, superuserURL: superuserURL, work: work)
            _ = try await Self.send("rides.end", state, client: client)
            return latencies
        } catch {
            _ = try? await Self.send("rides.end", state, client: client)
            throw error
        }
    }

    /// Before a captured call of a method that uses what an earlier call left (a vehicle to
    /// remove, a code to apply, a session to end): one more of it when none is left, so a
    /// method whose captures disagreed can be captured again.
    static func prepare(_ method: String, _ state: CallState, client: PublicClient) async throws {
        switch method {
        case "vehicles.remove" where state.vehicles.isEmpty:
            _ = try await send("vehicles.add", state, client: client)
        case "promo_codes.apply" where state.codes.isEmpty:
            _ = try await send("promo_codes.create", state, client: client)
        case "auth.logout" where state.sessions.isEmpty:
            guard let admin = state.admin else { throw StackError("\(method) needs the benchmark's administrator") }
            state.sessions.append(try await signIn(admin, client: client))
        default:
            break
        }
    }

    /// How long the codes of the timed calls live: applied within milliseconds of their
    /// creation, gone from promo_codes.list before its statements are captured.
    static let sampledCodeLifetime: Duration = .seconds(5)

    static func signIn(_ admin: BenchAdmin, client: PublicClient) async throws -> String {
        try await PublicClient.retryingWhenAsked {
            try await client.call("auth.login", AuthLoginParams(username: admin.username, password: admin.password),
                                  as: AuthLoginResult.self, city: admin.city)
        }.token
    }

    /// One call after another of each public method: latency samples (ms) and error counts per
    /// method, after ten unmeasured rounds; the administrator's writes in rounds of their own
    /// after the rider's (their codes live a few seconds, and are applied by the administrator,
    /// who never rides, so the rider's rides.end stays the same work). Each `auth.logout` ends a
    /// session of its own, so it is timed in the first 20 measured rounds only, on sessions
    /// signed in before those rounds: a sign-in right before each call (a scrypt hash, with the
    /// rest of the machine idle meanwhile) made every sign-out pay this host's wake-up from idle,
    /// which no other method's calls, nor any pgbench replay, pay (run 55: 1.32 ms against 0.70
    /// for users.me).
    static func sampleSingleClient(rider: BenchRider, admin: BenchAdmin?, client: PublicClient, cities: [String],
                                   calls: Int) async -> (samples: [String: [Double]], errors: [String: Int]) {
        var samples: [String: [Double]] = [:]
        var errors: [String: Int] = [:]
        let state = CallState(rider: rider, admin: admin, city: cities[0])
        state.codeLifetime = sampledCodeLifetime
        func measure(_ method: String, warm: Bool) async {
            let start = ContinuousClock.now
            do {
                _ = try await send(method, state, client: client)
                if !warm { samples[method, default: []].append((ContinuousClock.now - start).inSeconds * 1000) }
            } catch {
                if !warm { errors[method, default: 0] += 1 }
            }
        }
        for round in 0..<(calls + 10) {
            let warm = round < 10
            state.city = cities[round % cities.count]
            for method in ["cities.list", "users.me", "vehicles.list", "vehicles.get", "vehicles.add", "vehicles.mine"] {
                await measure(method, warm: warm)
            }
            if !state.vehicles.isEmpty { await measure("vehicles.remove", warm: warm) }
            await measure("rides.start", warm: warm)
            if state.activeRide != nil {
                for method in ["rides.update_location", "vehicles.location_history", "rides.end"] {
                    await measure(method, warm: warm)
                }
            }
            await measure("rides.list", warm: warm)
            if state.lastRide != nil { await measure("rides.get", warm: warm) }
            await measure("promo_codes.list", warm: warm)
        }
        guard let admin else { return (samples, errors) }
        // One warm-up sign-out and the timed ones, each on its own session.
        for _ in 0..<(1 + min(calls, 20)) {
            guard let session = try? await signIn(admin, client: client) else { break }
            state.sessions.append(session)
        }
        for round in 0..<(calls + 10) {
            let warm = round < 10
            await measure("promo_codes.create", warm: warm)
            if !state.codes.isEmpty { await measure("promo_codes.apply", warm: warm) }
            if round >= 9, !state.sessions.isEmpty {
                await measure("auth.logout", warm: warm)
            }
        }
        return (samples, errors)
    }

    // MARK: 6. Start-to-ready

    /// Starts one more instance of `movr-<identity>` against the stack's database and
    /// certificates on a spare port; seconds from spawn until it answers a call.
    func readyTime(identity: String, stack: StackFile, stackDirectory: String, work: String) async throws -> Double {
        guard let service = ServiceIdentity(rawValue: identity) else { throw StackError("unknown executable \(identity)") }
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let port = 18_990 + (LocalStack.serviceOrder.firstIndex(of: service) ?? 0)
        var environment = try stack.executableEnvironment(for: service, port: port, stackDirectory: stackDirectory)
        environment["MOVR_LOG_LEVEL"] = "warning"
        let url = "https://127.0.0.1:\(port)"
        let probe = service == .gateway
            ? try PublicClient(url: url, caPath: stack.ca, logger: logger)
            : try PublicClient(url: url, serverName: service.serverName, caPath: stack.ca,
                               clientCertificate: (stack.clientCertificate, stack.clientKey), logger: logger)
        let started = ContinuousClock.now
        let process = try await ToolProcess.start([binaries + "/movr-" + identity],
                                                  outputPath: work + "/ready-\(identity).log", environment: environment)
        let method = service == .gateway ? "cities.list" : "system.ping"
        func answered() async throws -> Double {
            while ContinuousClock.now - started < .seconds(30) {
                do {
                    _ = try await probe.call(method, EmptyObject(), as: IgnoredResult.self, idempotent: false)
                    let elapsed = (ContinuousClock.now - started).inSeconds
                    await probe.shutdown()
                    return elapsed
                } catch {
                    if let status = process.exitStatus {
                        await probe.shutdown()
                        throw StackError("movr-\(identity) exited with \(status); see \(work)/ready-\(identity).log")
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            await probe.shutdown()
            throw StackError("movr-\(identity) did not answer within 30 s")
        }
        // The executable stops whatever happens (no `defer`: waiting for it is asynchronous).
        do {
            let elapsed = try await answered()
            process.send(signal: SIGTERM)
            _ = await process.wait()
            return elapsed
        } catch {
            process.send(signal: SIGTERM)
            _ = await process.wait()
            throw error
        }
    }
}
