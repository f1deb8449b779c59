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
        let upkeepBefore = await upkeepCounters(superuserURL: superuserURL, statements: upkeepStatements)
        let before = processes.cpuTicks()
        let othersBefore = processes.otherProcesses(), stealBefore = BenchProcesses.stealTicks()
        let report = await LoadGenerator.run(configuration, workload: workload)
        let after = processes.cpuTicks()
        let othersAfter = processes.otherProcesses(), stealAfter = BenchProcesses.stealTicks()
        let upkeepAfter = await upkeepCounters(superuserURL: superuserURL, statements: upkeepStatements)
        var point = Self.sweepPoint(label, rate: rate, report: report, operation: .vehiclesList)
        // What a request costs at this load (the closed-loop table: at saturation).
        point.cpuMicros = BenchProcesses.byRole(BenchProcesses.microsPerRequest(
            before: before, after: after, requests: report.totals.count))
        // What else ran on the two cores meanwhile (the tail's competition).
        point.others = BenchProcesses.others(before: othersBefore, after: othersAfter)
        if let upkeepBefore, let upkeepAfter { point.upkeep = upkeepAfter - upkeepBefore }
        if let stealBefore, let stealAfter {
            point.stealMs = Double(stealAfter - stealBefore) * 1000 / BenchProcesses.ticksPerSecond
        }
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

extension BenchResults.SweepPoint {
    /// The run with the median p99 (the lower middle of an even count), carrying every run's
    /// p99 in ``p99RunsMs``: the row a report shows for a point run several times.
    static func medianRun(of runs: [BenchResults.SweepPoint]) -> BenchResults.SweepPoint? {
        guard !runs.isEmpty else { return nil }
        var point = runs.sorted { $0.p99Ms < $1.p99Ms }[(runs.count - 1) / 2]
        point.p99RunsMs = runs.map(\.p99Ms)
        return point
    }
}
