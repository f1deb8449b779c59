import Foundation

extension Benchmark {
    /// One run of a sweep point: the load engine's open model at `rate` through the gateway
    /// (CPU per request of every role, what else ran on the cores, the database's upkeep), then
    /// pgbench's open model at the same rate on the list's SQL. Returns the point and, when
    /// pgbench failed, the error to report.
    func sweepRun(_ label: String, rate: Double, workload: VehiclesListWorkload, sqlScript: String,
                  superuserURL: String, upkeepStatements: [String]?, vehiclesURL: String, processes: BenchProcesses,
                  work: String) async -> (BenchResults.SweepPoint, String?) {
        var configuration = LoadConfiguration(duration: Double(options.seconds), concurrency: options.connections * 4,
                                              rate: rate)
        configuration.mix = "vehicles.list=1"
        configuration.slowThresholdMs = BenchResults.sweepSlowMs
        var before: [String: Int64] = [:], after: [String: Int64] = [:]
        let (report, surroundings) = await watchingTheMachine(superuserURL: superuserURL, upkeepStatements: upkeepStatements,
                                                              processes: processes) {
            before = processes.cpuTicks()
            defer { after = processes.cpuTicks() }
            return await LoadGenerator.run(configuration, workload: workload)
        }
        var point = Self.sweepPoint(label, rate: rate, report: report, operation: .vehiclesList)
        // What a request costs at this load (the closed-loop table: at saturation).
        point.cpuMicros = BenchProcesses.byRole(BenchProcesses.microsPerRequest(
            before: before, after: after, requests: report.totals.count))
        point.record(surroundings)
        // The same rate on the SQL alone: the tail this machine gives a single hop.
        do {
            Console.line("the same rate on its SQL: pgbench -R \(Int(rate))...")
            let sqlBefore = processes.cpuTicks()
            let sql = try await pgbench(script: sqlScript, databaseURL: vehiclesURL, clients: options.connections,
                                        work: work, name: "sweep\(label.dropLast())", rate: rate)
            // What a transaction costs PostgreSQL (and pgbench) at this rate with no MovR in the
            // way: set beside the CPU per request through the gateway.
            point.sqlCPUMicros = BenchProcesses.sqlCPU(before: sqlBefore, after: processes.cpuTicks(),
                                                       transactions: sql.run.requests)
            point.sqlP99Ms = sql.latencies.isEmpty ? nil : BenchParse.percentile(sql.latencies, 99)
            point.sqlMaxMs = sql.latencies.max()
            return (point, nil)
        } catch {
            return (point, "pgbench at \(Int(rate)) tx/s: \(error)")
        }
    }
}

extension Benchmark {
    /// One run of the ride cycle at half its closed-loop rate: the load engine's open model
    /// through the gateway (what else ran on the cores, the database's upkeep), then pgbench's
    /// open model at the same cycle rate on each database's script of the cycle. Returns one
    /// point per operation (rides.start, rides.end; pgbench's slower script's tail on both) and,
    /// when pgbench failed, the error to report.
    func rideHalfRateRun(cycleRate: Double, workload: RideCycleWorkload, superuserURL: String,
                         upkeepStatements: [String]?, processes: BenchProcesses, work: String,
                         scripts: [(path: String, url: String, name: String, defines: [String: String])]) async
        -> ([BenchResults.SweepPoint], String?) {
        let configuration = LoadConfiguration(duration: Double(options.seconds), concurrency: options.connections,
                                              rate: cycleRate * 2)
        let (report, surroundings) = await watchingTheMachine(superuserURL: superuserURL, upkeepStatements: upkeepStatements,
                                                              processes: processes) {
            await LoadGenerator.run(configuration, workload: workload)
        }
        var points = [LoadOperation.ridesStart, .ridesEnd].map {
            var point = Self.sweepPoint($0.rawValue, rate: cycleRate, report: report, operation: $0)
            point.record(surroundings)
            return point
        }
        // The same cycle rate on the statements alone: the tail the database gives them here.
        do {
            var p99: Double?, maximum: Double?
            for script in scripts {
                Console.line("the same cycle rate on its SQL: pgbench -R \(Int(cycleRate)) (\(script.name))...")
                let sql = try await pgbench(script: script.path, databaseURL: script.url, clients: options.connections,
                                            work: work, name: script.name, defines: script.defines, rate: cycleRate)
                guard !sql.latencies.isEmpty else { continue }
                p99 = max(p99 ?? 0, BenchParse.percentile(sql.latencies, 99))
                maximum = max(maximum ?? 0, sql.latencies.max() ?? 0)
            }
            for index in points.indices {
                points[index].sqlP99Ms = p99
                points[index].sqlMaxMs = maximum
            }
            return (points, nil)
        } catch {
            return (points, "pgbench at \(Int(cycleRate)) cycles/s: \(error)")
        }
    }
}

/// What else happened on the machine while an open-model run ran (``Benchmark/watchingTheMachine``).
struct RunSurroundings {
    /// Milliseconds of CPU each other program used, largest first (``BenchProcesses/others``).
    var others: [BenchResults.NamedMillis]
    /// Milliseconds the hypervisor stole; nil when not readable.
    var stealMs: Double?
    /// The database's upkeep counted during the run; nil when not counted.
    var upkeep: DatabaseUpkeep?
}

extension Benchmark {
    /// Runs `load` and counts what else ran meanwhile: every other program's CPU, the time the
    /// hypervisor stole, the database's upkeep (the tail's competition).
    func watchingTheMachine<R>(superuserURL: String, upkeepStatements: [String]?, processes: BenchProcesses,
                               _ load: () async -> R) async -> (R, RunSurroundings) {
        let upkeepBefore = await upkeepCounters(superuserURL: superuserURL, statements: upkeepStatements)
        let othersBefore = processes.otherProcesses(), stealBefore = BenchProcesses.stealTicks()
        let result = await load()
        let othersAfter = processes.otherProcesses(), stealAfter = BenchProcesses.stealTicks()
        let upkeepAfter = await upkeepCounters(superuserURL: superuserURL, statements: upkeepStatements)
        var surroundings = RunSurroundings(others: BenchProcesses.others(before: othersBefore, after: othersAfter))
        if let upkeepBefore, let upkeepAfter { surroundings.upkeep = upkeepAfter - upkeepBefore }
        if let stealBefore, let stealAfter {
            surroundings.stealMs = Double(stealAfter - stealBefore) * 1000 / BenchProcesses.ticksPerSecond
        }
        return (result, surroundings)
    }
}

extension BenchResults.SweepPoint {
    mutating func record(_ surroundings: RunSurroundings) {
        others = surroundings.others
        stealMs = surroundings.stealMs
        upkeep = surroundings.upkeep
    }

    /// Of runs that each give one point per operation (the ride cycle's start and end), the
    /// run whose slower operation's p99 is the median, each point carrying its operation's p99
    /// of every run in ``p99RunsMs``.
    static func medianRun(ofCycles runs: [[BenchResults.SweepPoint]]) -> [BenchResults.SweepPoint] {
        let complete = runs.filter { !$0.isEmpty }
        guard !complete.isEmpty else { return [] }
        let slowest = { (run: [BenchResults.SweepPoint]) in run.map(\.p99Ms).max() ?? 0 }
        let median = complete.sorted { slowest($0) < slowest($1) }[(complete.count - 1) / 2]
        return median.map { point in
            var point = point
            point.p99RunsMs = complete.compactMap { run in run.first { $0.label == point.label }?.p99Ms }
            return point
        }
    }

    /// The run with the median p99 (the lower middle of an even count), carrying every run's
    /// p99 in ``p99RunsMs``: the row a report shows for a point run several times.
    static func medianRun(of runs: [BenchResults.SweepPoint]) -> BenchResults.SweepPoint? {
        guard !runs.isEmpty else { return nil }
        var point = runs.sorted { $0.p99Ms < $1.p99Ms }[(runs.count - 1) / 2]
        point.p99RunsMs = runs.map(\.p99Ms)
        return point
    }
}
