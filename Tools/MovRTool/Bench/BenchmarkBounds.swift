import Foundation

extension BenchResults {
    /// One line per target this run did not meet: what bounds it, from this run's own figures
    /// (CPU per request of every process, how full the cores were, the HAProxy floor, the tail's
    /// counts) and profiles. Facts measured here, not explanations from other runs.
    var bounds: [String] {
        let unmet = Set(targets.filter { $0.met == false }.map(\.key))
        guard !unmet.isEmpty else { return [] }
        var lines: [String] = []
        func has(_ target: Target) -> Bool { unmet.contains(target) }

        if has(.listRatio), let list = lists.first(where: { $0.limit == 25 }) {
            var line = "**vehicles.list 25 rows, ratio \(f(ratioOf(list), 3))x**: " + machineUse(list)
            if let floor, let ratios = floorRatios {
                let cpu = Self.perRequestByRole(floor.cpu)
                let floorMicros = (cpu["outer"] ?? 0) + (cpu["inner"] ?? 0) + (cpu["client"] ?? 0)
                line += " The same two TLS hops without MovR (HAProxy, no JSON-RPC, no database) cost \(f(floorMicros)) µs per request with wrk's share and reach \(f(ratios.floor, 2))x of pgbench; with the statement's cost added, ~\(f(ratios.withStatement, 2))x."
            }
            lines.append(line)
        }
        if has(.pages100), let list = lists.first(where: { $0.limit == 100 }) {
            lines.append("**100-row pages**: " + machineUse(list))
        }
        if let list = lists.first(where: { $0.limit == 25 }) {
            let cpu = Self.perRequestByRole(list.cpu), switches = Self.perRequestByRole(list.switches)
            let client = cpu["client"].map {
                " wrk, on the same cores, used \(f($0)) µs per request in the same runs (this host's pace at the time)."
            } ?? ""
            for (role, limit, target) in [("gateway", 100.0, Target.gatewayCPU), ("vehicles", 150.0, .vehiclesCPU)]
            where has(target) {
                var line = "**CPU per vehicles.list, \(role): \(f(cpu[role] ?? 0)) µs** (target \(f(limit))), "
                line += "\(f(switches[role] ?? 0, 2)) context switches per request."
                line += profileSummary(profile("vehicles.list 25 rows", role))
                lines.append(line + client)
            }
        }
        if has(.rideRatio), let cycle = rideCycle {
            let rate = BenchParse.median(cycle.gateway.map(\.throughput))
            let cpu = Self.perRequestByRole(cycle.cpu)
            var line = "**ride cycle, ratio \(f(Self.cycleRatio(cycle), 3))x**: " + use(cpu, rate: rate, unit: "cycle",
                                                                                        client: "the load engine")
            let flatOut = BenchParse.median(cycle.pgbenchCPU.compactMap { $0["postgres"] })
            if let postgres = cpu["postgres"], flatOut > 0 {
                line += " PostgreSQL used \(f(postgres)) µs per cycle when the path sent the statements"
                if let atRate = cycle.sqlCPUAtPathRate?["postgres"], let pathRate = cycle.sqlAtPathRate {
                    line += ", \(f(atRate)) µs when pgbench sent them at the path's rate (\(f(pathRate)) cycles/s)"
                }
                line += " and \(f(flatOut)) µs when pgbench sent them flat out."
            }
            line += profileSummary(profile("ride cycle", "rides"), label: "rides")
            line += profileSummary(profile("ride cycle", "postgres"), label: "postgres")
            lines.append(line)
        }
        if has(.rideTail), let cycle = rideCycle {
            let points = cycle.halfRate.map { point in
                "\(point.label) p99 \(f(point.p99Ms, 1)) ms"
                    + ((point.p99RunsMs?.count ?? 0) > 1 ? " (runs: " + (point.p99RunsMs ?? []).map { f($0, 1) }.joined(separator: ", ") + ")" : "")
                    + ", max \(f(point.maxMs, 1)) ms"
            }
            var line = "**ride cycle p99 at half rate**: " + points.joined(separator: "; ") + "."
            if let run = cycle.halfRate.first {
                line += " In the median run the load engine sent \(run.late) requests late." + duringTheRun(run)
                if let sqlP99 = run.sqlP99Ms, let sqlMax = run.sqlMaxMs {
                    line += " pgbench alone at the same cycle rate (the slower of its rides and vehicles scripts): "
                        + "p99 \(f(sqlP99, 2)) ms, max \(f(sqlMax, 2)) ms."
                }
            }
            lines.append(line)
        }
        if has(.listTail), let half = sweep.first(where: { $0.label == "50%" }) {
            var line = "**vehicles.list p99 at half load: \(f(half.p99Ms, 2)) ms**"
            if let all = half.p99RunsMs, all.count > 1 {
                line += " (the median of \(all.count) runs: \(all.map { f($0, 2) }.joined(separator: ", ")) ms; the rest is that run's)"
            }
            if let slow = half.slowByTenth {
                let total = slow.reduce(0, +), first = slow.prefix(10).reduce(0, +)
                let allowed = Int(half.achieved * Double(seconds) / 100)
                line += ": \(total) requests over \(f(Self.sweepSlowMs)) ms where a p99 under it allows about \(allowed); "
                let tenths = slow.filter { $0 > 0 }.count
                line += "\(first) of them were due in the run's first second; all of them fall in \(tenths) of its "
                    + "\(slow.count) tenths of a second"
            }
            line += "; the load engine sent \(half.late) requests late." + duringTheRun(half)
            if let sqlP99 = half.sqlP99Ms, let sqlMax = half.sqlMaxMs {
                line += " pgbench alone at the same rate: p99 \(f(sqlP99, 2)) ms, max \(f(sqlMax, 2)) ms."
            }
            lines.append(line)
        }
        for latency in latencies where has(.singleClientP50) {
            guard let sql = latency.sqlP50Ms, let allowed = Self.allowedP50(latency), latency.p50Ms > allowed else { continue }
            lines.append("**\(latency.method) single-client p50 \(f(latency.p50Ms, 2)) ms** against \(f(allowed, 2)) allowed (its SQL alone \(f(sql, 2)) ms, \(latency.hops) hops).")
        }
        if has(.idleRSS) {
            let largest = footprints.max { ($0.residentKilobytes.max() ?? 0) < ($1.residentKilobytes.max() ?? 0) }
            if let largest {
                let megabytes = Double(largest.residentKilobytes.max() ?? 0) / 1024
                lines.append("**idle RSS**: movr-\(largest.executable) \(f(megabytes, 1)) MB.")
            }
        }
        if has(.ready), let slowest = footprints.max(by: { ($0.readySeconds ?? 0) < ($1.readySeconds ?? 0) }) {
            lines.append("**ready**: movr-\(slowest.executable) \(f((slowest.readySeconds ?? 0) * 1000)) ms.")
        }
        return lines
    }

    private func f(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

    /// How much CPU a list size's requests took and how full that made the cores.
    private func machineUse(_ list: ListSize) -> String {
        let rate = median(list.gateway, { $0.throughput })
        var text = use(Self.perRequestByRole(list.cpu), rate: rate, unit: "request", client: "wrk")
        let sql = Self.perRequestByRole(list.pgbenchCPU)
        if let postgres = sql["postgres"], let pgbench = sql["pgbench"] {
            text += " pgbench's transaction on the same statement costs \(f(postgres + pgbench)) µs (PostgreSQL \(f(postgres)), pgbench \(f(pgbench)))."
        }
        return text
    }

    /// "at R req/s the processes used N µs of CPU per request (...): C of the P cores (U %)", and
    /// what a full or a half-empty machine means for the rate.
    private func use(_ cpu: [String: Double], rate: Double, unit: String, client: String) -> String {
        let roles = [("gateway", "gateway"), ("users", "users"), ("vehicles", "vehicles"), ("rides", "rides"),
                     ("postgres", "PostgreSQL"), ("client", client)]
        let parts = roles.compactMap { key, name in cpu[key].flatMap { $0 >= 1 ? "\(name) \(f($0))" : nil } }
        let micros = roles.reduce(0) { $0 + (cpu[$1.0] ?? 0) }
        let cores = micros * rate / 1e6
        var text = "at \(f(rate)) \(unit == "cycle" ? "cycles" : "requests")/s the processes used \(f(micros)) µs of CPU per \(unit) (\(parts.joined(separator: ", "))), \(f(cores, 2)) cores"
        guard processors > 0 else { return text + "." }
        let percent = cores * 100 / Double(processors)
        text += " of the machine's \(processors) (\(f(percent)) %)"
        text += percent >= 85
            ? ": the cores are full, so the rate is bounded by the CPU each \(unit) costs."
            : ": the cores were not full, so the \(connections) clients waited on latency, not only on CPU."
        return text
    }

    /// " Its profile (role): the three largest kinds of work; the largest symbol."
    private func profileSummary(_ profile: Profile?, label: String? = nil) -> String {
        guard let profile, profile.samples > 0 else { return "" }
        let kinds = profile.shares.sorted { $0.value > $1.value }.prefix(4).map { "\($0.key) \(f($0.value)) %" }
        var text = " Profile\(label.map { " of \($0)" } ?? ""): " + kinds.joined(separator: ", ")
        if let top = profile.top.first {
            let name = top.name.count > 70 ? String(top.name.prefix(67)) + "..." : top.name
            text += "; largest symbol `\(name)` \(f(top.percent, 1)) %"
        }
        return text + "."
    }
}

extension BenchResults {
    /// What else happened on the machine during an open-model run: other programs' CPU (the
    /// largest three), the time the hypervisor stole, the database's upkeep; sentences, each
    /// with a leading space, empty when none was counted.
    func duringTheRun(_ point: SweepPoint) -> String {
        var text = ""
        if let others = point.others, let total = point.othersMs {
            let largest = others.prefix(3).map { "\($0.name) \(f($0.ms))" }.joined(separator: ", ")
            text += " Other programs on the machine used \(f(total)) ms of CPU during the \(seconds) s run\(largest.isEmpty ? "" : " (\(largest))")"
            text += point.stealMs.map { "; the hypervisor stole \(f($0)) ms." } ?? "."
        }
        if let upkeep = point.upkeep {
            text += upkeep.checkpointBuffers > 0 || upkeep.autovacuums > 0
                ? " The database's upkeep during the run: \(upkeep.checkpointBuffers) buffers written by checkpoints, "
                    + "\(upkeep.autovacuums) autovacuum or autoanalyze runs."
                : " No checkpoint wrote and no autovacuum ran during the run."
        }
        return text
    }
}
