import Foundation
import MovRServiceDatabase

extension BenchResults {
    /// The dated section appended to docs/benchmarks.md.
    var markdown: String {
        func f(_ value: Double?, _ digits: Int = 0) -> String {
            guard let value else { return "–" }
            let text = String(format: "%.\(digits)f", value)
            guard digits == 0, abs(value) >= 10_000 else { return text }
            // Thin groups of three like the rest of docs/benchmarks.md: 14 871.
            var grouped = ""
            for (index, character) in text.reversed().enumerated() {
                if index > 0, index % 3 == 0, character != "-" { grouped.append(" ") }
                grouped.append(character)
            }
            return String(grouped.reversed())
        }
        func series(_ values: [Double]) -> String { values.map { f($0) }.joined(separator: ", ") }
        var out: [String] = []
        out.append("## \(date.prefix(10)) — `movr bench`\(quick ? " (quick smoke run, not a measurement)" : "")")
        out.append("")
        out.append("Command: `\(command)`. Commit \(commit). Date \(date).")
        out.append("Machine: \(machine). Everything (PostgreSQL, 16 executables, wrk/pgbench) on this machine.")
        out.append("\(connections) concurrent clients for every tool, \(runs) run(s) x \(seconds) s each, tools alternating; medians quoted.")
        out.append("")
        if errors.isEmpty, totalErrors == 0 {
            out.append("**Errors: none** in any run.")
        } else {
            out.append("**ERRORS: \(totalErrors) failed requests/transactions\(errors.isEmpty ? "" : "; " + errors.joined(separator: "; "))**")
        }
        out.append("")

        out.append("### \(Self.sectionTitles[0])")
        out.append("")
        out.append("pgbench: `VehiclesStore.firstPageQuery`'s SQL, `-M prepared`, results in text (pgbench has no other); the vehicles service sends the same statement and asks for binary results (docs/architecture.md, MovRPostgres).")
        out.append("")
        out.append("| rows | pgbench median (tx/s) [runs] | pgbench p50 / p99 (ms) | gateway median (req/s) [runs] | gateway p50 / p99 (ms) | ratio | vehicles/s via gateway | errors |")
        out.append("|---|---|---|---|---|---|---|---|")
        for list in lists {
            let gateway = median(list.gateway, { $0.throughput })
            let errors = (list.pgbench + list.gateway).reduce(0) { $0 + $1.errors }
            out.append("| \(list.limit) (\(f(list.rowsPerPage, 1)) per page) | \(f(median(list.pgbench, { $0.throughput }))) [\(series(list.pgbench.map(\.throughput)))] | "
                + "\(f(median(list.pgbench, { $0.p50Ms }), 2)) / \(f(median(list.pgbench, { $0.p99Ms }), 2)) | "
                + "\(f(gateway)) [\(series(list.gateway.map(\.throughput)))] | "
                + "\(f(median(list.gateway, { $0.p50Ms }), 2)) / \(f(median(list.gateway, { $0.p99Ms }), 2)) | "
                + "\(f(ratioOf(list), 3)) | \(f(gateway * list.rowsPerPage)) | \(errors) |")
        }
        out.append("")

        out.append("### \(Self.sectionTitles[1])")
        out.append("")
        out.append("utime+stime from /proc/PID/stat before and after each gateway run, divided by the requests wrk (or the load engine) completed; medians over runs, µs per request. `postgres` is the postmaster and all its children; `client` is what sent the requests, on the same cores: wrk for the lists (a reaped child's usage), `movr bench`'s own load engine for the ride cycle (the process's usage). The two rows in italics are the same count over the pgbench runs of the same work (per transaction for the lists; for the ride cycle, per transaction of each database's script, added up): what PostgreSQL and pgbench use when pgbench sends the statements, to set beside `postgres` when the path sends them.")
        out.append("")
        var columns: [(String, [[String: Double]])] = lists.map { ("vehicles.list \($0.limit)", $0.cpu) }
        if let cycle = rideCycle { columns.append(("ride cycle (start+end)", cycle.cpu)) }
        let names = Set(columns.flatMap { $0.1.flatMap(\.keys) }).sorted()
        out.append("| process | " + columns.map(\.0).joined(separator: " | ") + " |")
        out.append("|---|" + columns.map { _ in "---|" }.joined())
        for role in ["gateway", "users", "vehicles", "rides", "postgres", "client"] {
            let values = columns.map { Self.perRequestByRole($0.1)[role] }
            let label = role == "client" ? "**client** (wrk; load engine)" : "**\(role)** (all regions)"
            out.append("| \(label) | " + values.map { f($0, 1) }.joined(separator: " | ") + " |")
        }
        var sqlColumns: [[[String: Double]]] = lists.map(\.pgbenchCPU)
        if let cycle = rideCycle { sqlColumns.append(cycle.pgbenchCPU) }
        if sqlColumns.contains(where: { !$0.isEmpty }) {
            for (role, label) in [("postgres", "*postgres, pgbench sending the statements*"), ("pgbench", "*pgbench*")] {
                let values = sqlColumns.map { runs in runs.isEmpty ? nil : BenchParse.median(runs.compactMap { $0[role] }) }
                out.append("| \(label) | " + values.map { f($0, 1) }.joined(separator: " | ") + " |")
            }
        }
        for name in names where name.contains("/") {
            let values = columns.map { column in BenchParse.median(column.1.map { $0[name] ?? 0 }) }
            guard values.contains(where: { $0 >= 0.5 }) else { continue }
            out.append("| \(name) | " + values.map { f($0, 1) }.joined(separator: " | ") + " |")
        }
        out.append("")
        var switchColumns: [(String, [[String: Double]])] = lists.map { ("vehicles.list \($0.limit)", $0.switches) }
        if let cycle = rideCycle { switchColumns.append(("ride cycle (start+end)", cycle.switches)) }
        if switchColumns.contains(where: { !$0.1.isEmpty }) {
            out.append("Context switches per request, the same way: voluntary + involuntary switches of every thread (/proc/PID/task/*/status), by role over all regions; each one is a thread that slept (or was preempted) and was woken.")
            out.append("")
            out.append("| process | " + switchColumns.map(\.0).joined(separator: " | ") + " |")
            out.append("|---|" + switchColumns.map { _ in "---|" }.joined())
            for role in ["gateway", "users", "vehicles", "rides", "postgres", "client"] {
                let values = switchColumns.map { Self.perRequestByRole($0.1)[role] }
                out.append("| **\(role)** | " + values.map { f($0, 2) }.joined(separator: " | ") + " |")
            }
            out.append("")
        }

        out.append("### \(Self.sectionTitles[8])")
        out.append("")
        if let floor, !floor.runs.isEmpty {
            out.append("The 25-row runs' shape with nothing of MovR in it, run after each of them with the same wrk script and concurrency: wrk -> HAProxy (TLS, the stack's public certificate) -> pooled mutual TLS 1.3 (the gateway's client certificate, the vehicles service's name verified) -> HAProxy (the vehicles service's certificate), which answers every request with the gateway's own reply (\(floor.replyBytes) bytes) from a file. No JSON-RPC, no database: what any implementation of two TLS hops can reach on this machine before it does any work. CPU per request from /proc (each proxy: one process, two threads; wrk: a reaped child's usage).")
            out.append("")
            let cpu = ["outer", "inner", "client"].map { role in BenchParse.median(floor.cpu.compactMap { $0[role] }) }
            out.append("| path | median (req/s) [runs] | p50 / p99 (ms) | ratio to pgbench (25 rows) | CPU µs per request: outer proxy / inner proxy / wrk |")
            out.append("|---|---|---|---|---|")
            out.append("| HAProxy -> HAProxy | \(f(median(floor.runs, { $0.throughput }))) [\(series(floor.runs.map(\.throughput)))] | \(f(median(floor.runs, { $0.p50Ms }), 2)) / \(f(median(floor.runs, { $0.p99Ms }), 2)) | \(f(floorRatios?.floor, 3)) | \(cpu.map { f($0, 1) }.joined(separator: " / ")) |")
            if let list = lists.first(where: { $0.limit == 25 }) {
                let roles = Self.perRequestByRole(list.cpu)
                out.append("| MovR gateway -> vehicles -> PostgreSQL | \(f(median(list.gateway, { $0.throughput }))) | \(f(median(list.gateway, { $0.p50Ms }), 2)) / \(f(median(list.gateway, { $0.p99Ms }), 2)) | \(f(ratioOf(list), 3)) | \(["gateway", "vehicles", "client"].map { f(roles[$0], 1) }.joined(separator: " / ")) (gateway / vehicles / wrk; PostgreSQL \(f(roles["postgres"], 1))) |")
            }
            if let ratios = floorRatios {
                out.append("")
                out.append("Adding the statement to the floor (both paths' machine time per request added, 1 / (1/floor + 1/pgbench); it charges the statement pgbench's whole cost per transaction, its client's included): about \(f(ratios.withStatement, 2))x pgbench, an estimate of the most two TLS hops and this statement can reach here.")
            }
        } else {
            out.append("Not measured (see the errors or notes).")
        }
        out.append("")

        out.append("### \(Self.sectionTitles[2])")
        out.append("")
        if let cycle = rideCycle {
            let gateway = BenchParse.median(cycle.gateway.map(\.throughput))
            out.append("rides.start + rides.end through the gateway, closed loop, \(connections) clients, each with its own signed-in rider and vehicle. Before each run's pgbench scripts and again before its gateway run, the bench runs `VACUUM` in movr_rides and movr_vehicles: the cycle updates the same \(connections) vehicles thousands of times a run, and neither tool should start on the dead row versions the other left.")
            out.append("SQL: \(cycle.sqlSource)")
            out.append("")
            out.append("| | median cycles/s [runs] |")
            out.append("|---|---|")
            out.append("| pgbench, rides statements (movr_rides) | \(f(BenchParse.median(cycle.pgbenchRides))) [\(series(cycle.pgbenchRides))] |")
            out.append("| pgbench, vehicles statements (movr_vehicles) | \(f(BenchParse.median(cycle.pgbenchVehicles))) [\(series(cycle.pgbenchVehicles))] |")
            if !cycle.pgbenchUsers.isEmpty {
                out.append("| pgbench, session checks (movr_users) | \(f(BenchParse.median(cycle.pgbenchUsers))) [\(series(cycle.pgbenchUsers))] |")
                out.append("| pgbench, all in turn (1 / (1/users + 1/rides + 1/vehicles)) | \(f(Self.sqlCycleRate(cycle))) |")
            } else {
                out.append("| pgbench, both in turn (1 / (1/rides + 1/vehicles)) | \(f(Self.sqlCycleRate(cycle))) |")
            }
            out.append("| gateway (load engine) | \(f(gateway)) [\(series(cycle.gateway.map(\.throughput)))] |")
            out.append("| **ratio gateway / SQL** | **\(f(Self.cycleRatio(cycle), 3))** |")
            out.append("")
            if let rate = cycle.sqlAtPathRate, let atRate = cycle.sqlCPUAtPathRate {
                let path = Self.perRequestByRole(cycle.cpu)["postgres"]
                let flatOut = cycle.pgbenchCPU.isEmpty ? nil : BenchParse.median(cycle.pgbenchCPU.compactMap { $0["postgres"] })
                out.append("PostgreSQL's CPU per cycle, the same statements three ways: \(f(path, 0)) µs when the path sends them (at \(f(rate)) cycles/s, CPU table above); \(f(atRate["postgres"], 0)) µs when pgbench sends them at that rate (`-R \(f(rate))`, each database's script in turn, pgbench itself \(f(atRate["pgbench"], 0)) µs); \(f(flatOut, 0)) µs when pgbench sends them flat out (the runs above).")
                out.append("")
            }
            if !cycle.halfRate.isEmpty {
                let runCount = cycle.halfRate.first?.p99RunsMs?.count ?? 1
                out.append("Open model at 50% of that cycle rate (latency from intended send time), each run after a `VACUUM` of movr_rides and movr_vehicles and followed by pgbench's open model at the same cycle rate on the movr_rides and movr_vehicles scripts (`-R`, \(connections) clients, latency from the scheduled start; the column shows the slower script's p99 and max)"
                    + (runCount > 1 ? "; \(runCount) runs: the rows are the run whose slower operation had the median p99, every run's p99 in brackets in the order they ran" : "")
                    + ". In the rows, as in the sweep below, from the run they show: the requests the load engine sent late (it was behind its schedule: every connection busy), the CPU every other program on the machine used and the time the hypervisor stole, and the database's upkeep (checkpoints, the buffers they wrote, autovacuum runs).")
                out.append("")
                out.append("| operation | rate (req/s) | achieved | p50 (ms) | p99 (ms) | max (ms) | errors | late | SQL alone: p99 / max (ms) | other programs: CPU / stolen (ms) (largest) | database upkeep: checkpoints / buffers written / autovacuums |")
                out.append("|---|---|---|---|---|---|---|---|---|---|---|")
                for point in cycle.halfRate {
                    let p99 = f(point.p99Ms, 2) + ((point.p99RunsMs?.count ?? 0) > 1
                        ? " [" + (point.p99RunsMs ?? []).map { f($0, 2) }.joined(separator: ", ") + "]" : "")
                    out.append("| \(point.label) | \(f(point.rate, 1)) | \(f(point.achieved, 1)) | \(f(point.p50Ms, 2)) | \(p99) | \(f(point.maxMs, 2)) | \(point.errors) | \(point.late) | \(f(point.sqlP99Ms, 2)) / \(f(point.sqlMaxMs, 2)) | \(f(point.othersMs, 0)) / \(f(point.stealMs, 0))\(point.others?.first.map { " (\($0.name.replacingOccurrences(of: "|", with: "/")) \(f($0.ms, 0)))" } ?? "") | \(point.upkeep?.summary ?? "–") |")
                }
                out.append("")
            }
            if !cycle.errors.isEmpty { out.append("Errors: " + cycle.errors.joined(separator: "; ")); out.append("") }
            out.append("<details><summary>pgbench scripts (from the captured statements)</summary>")
            out.append("")
            out.append("```sql\n-- movr_users\n\(cycle.usersScript)\n-- movr_rides\n\(cycle.ridesScript)\n-- movr_vehicles\n\(cycle.vehiclesScript)```")
            out.append("")
            out.append("</details>")
        } else {
            out.append("not measured (see errors)")
        }
        out.append("")

        out.append("### \(Self.sectionTitles[3])")
        out.append("")
        out.append("One client, one call at a time through the gateway (release binaries, after warm-up; the client runs on its connection's event loop and checks each reply as the wrk script does, decoding only `rides.start`'s ride); SQL: pgbench with 1 client on the method's statements. For the methods besides vehicles.list and the ride cycle's two, after the timed calls, the statements are captured from the server log (`log_statement = all`, one call between marker statements, three times; a statement counts when every capture has it, so a background statement that falls into one window does not; a method whose captures share none is captured again, up to \(Benchmark.methodCaptureAttempts) rounds), with a ride of the rider active throughout, and replayed with the call's own bind values as `-D` constants (a write's new key — a vehicle's id, a promo code, the user a code is applied for — drawn anew in each transaction), each database's script on its own for 300 transactions (`-M prepared`, as the services prepare their statements; a database whose captured statements the service sent unnamed, to have them planned for each execution's values, with `-M extended`, so that each is parsed and planned again as it is on the path; the SQL source column names those databases); the method's SQL p50 adds up each database's per-transaction p50. `auth.logout` and `vehicles.remove` change their row for good (a session revoked, a vehicle removed), so a replay of the captured call's own row would write nothing: their replays revoke or remove another live row in each transaction, one of \(Benchmark.liveRowCopies) copies of the captured row the bench adds before the replay and deletes after it (then it vacuums that database). The promo codes are the benchmark administrator's (applied by it, who never rides), timed after every other method's calls, each code living 5 s; `auth.logout` is timed over 20 calls in the administrator's rounds, each ending a session signed in before those rounds (a sign-in right before each call left the machine idle during its scrypt hash, and the sign-out then paid the host's wake-up from idle, which no other call nor any replay pays). Not timed: `users.register` and `auth.login` (each call hashes a password with scrypt, N=2^17, the method's work by design; registrations are throttled per client address) and `users.delete` (each call needs a new account). Hops: the client's to the gateway, the session check's to the users service for signed-in methods, and each service call (the target allows 0.3 ms each).")
        out.append("")
        out.append("| method | calls | p50 (ms) | p99 (ms) | SQL p50 (ms) | SQL source | errors |")
        out.append("|---|---|---|---|---|---|---|")
        for latency in latencies {
            out.append("| \(latency.method) | \(latency.calls) | \(f(latency.p50Ms, 2)) | \(f(latency.p99Ms, 2)) | \(f(latency.sqlP50Ms, 3)) | \(latency.sqlSource ?? "–") | \(latency.errors) |")
        }
        out.append("")

        out.append("### \(Self.sectionTitles[4])")
        out.append("")
        out.append("vehicles.list (25 rows) through the gateway, load engine's open model at fixed rates (fractions of the closed-loop median above), latency from intended send time; each reply is checked to be a JSON-RPC result holding well-formed JSON (as the wrk script checks the closed-loop runs), not decoded into vehicles. Beside each point, pgbench's own open model (`-R`) at the same rate on the list's SQL, \(connections) clients, latency from the scheduled start: the tail this machine gives one hop alone. CPU per request of the gateway, the vehicles service and PostgreSQL at that rate (all regions' processes, `/proc`), and of the load engine itself (this process: it shares the two cores with what it measures; its connections are opened before its clock starts, as pgbench's and wrk's are), to set beside the closed-loop figures above, which are at saturation; and what PostgreSQL and pgbench use per transaction during pgbench's run at the same rate (PostgreSQL's finished backends counted from the postmaster's cutime/cstime): what a statement costs this machine at that rate with no MovR in the way. Last, where the tail lies: the requests slower than \(f(BenchResults.sweepSlowMs, 0)) ms (the list's target at half load), those of them meant for the run's first second, and how many tenths of a second of the run hold any (a slow start shows in the second figure, short episodes in the third); and what else the two cores did during the run: the CPU every other program on the machine used (kernel threads included; /proc/PID/stat of every process before and after, a finished one counted through its parent), with the largest, and the time the hypervisor stole (/proc/stat); clock ticks of 10 ms. And the database's own upkeep during the run (PostgreSQL's statistics views before and after it): checkpoints counted, the buffers the checkpointer wrote (a spread checkpoint reports them as it goes), and autovacuum and autoanalyze runs finished in MovR's three databases.")
        out.append("")
        if runs > 1 {
            out.append("Each point runs \(runs) times, each run followed by pgbench's at the same rate; a row is the run with the median p99 (its other columns and pgbench's are that run's), the p99 of every run in brackets in the order they ran.")
            out.append("")
        }
        out.append(settleSentence)
        out.append("")
        out.append("| fraction | rate (req/s) | achieved | p50 (ms) | p99 (ms) | max (ms) | errors | late | never sent | SQL alone: p99 / max (ms) | CPU gateway / vehicles / postgres / load engine (µs) | SQL alone: CPU postgres / pgbench (µs) | over \(f(BenchResults.sweepSlowMs, 0)) ms: all / first s / tenths | other programs: CPU / stolen (ms) (largest) | database upkeep: checkpoints / buffers written / autovacuums |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for point in sweep {
            let cpu = point.cpuMicros.map { cpu in
                ["gateway", "vehicles", "postgres", "client"].map { f(cpu[$0], 0) }.joined(separator: " / ")
            } ?? "–"
            let sqlCPU = point.sqlCPUMicros.map { cpu in
                ["postgres", "pgbench"].map { f(cpu[$0], 0) }.joined(separator: " / ")
            } ?? "–"
            let p99 = f(point.p99Ms, 2) + ((point.p99RunsMs?.count ?? 0) > 1
                ? " [" + (point.p99RunsMs ?? []).map { f($0, 2) }.joined(separator: ", ") + "]" : "")
            out.append("| \(point.label) | \(f(point.rate)) | \(f(point.achieved)) | \(f(point.p50Ms, 2)) | \(p99) | \(f(point.maxMs, 2)) | \(point.errors) | \(point.late) | \(point.unsent) | \(f(point.sqlP99Ms, 2)) / \(f(point.sqlMaxMs, 2)) | \(cpu) | \(sqlCPU) | \(point.slowSummary) | \(f(point.othersMs, 0)) / \(f(point.stealMs, 0))\(point.others?.first.map { " (\($0.name.replacingOccurrences(of: "|", with: "/")) \(f($0.ms, 0)))" } ?? "") | \(point.upkeep?.summary ?? "–") |")
        }
        out.append("")

        out.append("### \(Self.sectionTitles[11])")
        out.append("")
        out.append("What a deploy or a restart of one region looks like to its first callers: the primary region's four executables get SIGTERM (they drain and stop), `movr up` starts them again a second later, and as soon as the region's gateway answers `GET /readyz` with 200 (what a load balancer waits for), the load engine sends vehicles.list (25 rows, the cities in turn) at the sweep's 25 % rate, open model, latency from intended send time, its own connections to the gateway opened before its clock starts as in the sweep; then the same burst again, the path now warm. Each executable opens `MOVR_WARM_CONNECTIONS` (2) connections to its peers and its database as it starts, beside its listeners (docs/operations.md).")
        out.append("")
        if restart.isEmpty {
            out.append(restartNote ?? "Not measured (see the errors above).")
        } else {
            out.append("| burst | rate (req/s) | achieved | p50 (ms) | p99 (ms) | max (ms) | errors | late | never sent | over \(f(BenchResults.sweepSlowMs, 0)) ms: all / first s / tenths |")
            out.append("|---|---|---|---|---|---|---|---|---|---|")
            for point in restart {
                out.append("| \(point.label) | \(f(point.rate)) | \(f(point.achieved)) | \(f(point.p50Ms, 2)) | \(f(point.p99Ms, 2)) | \(f(point.maxMs, 2)) | \(point.errors) | \(point.late) | \(point.unsent) | \(point.slowSummary) |")
            }
        }
        out.append("")

        out.append("### \(Self.sectionTitles[5])")
        out.append("")
        out.append("VmRSS of each running instance after start and demo data (before any load); ready: an extra instance started against the same database and certificates on a spare port, from spawn to its first answered call (system.ping; cities.list for the gateway).")
        out.append("")
        out.append("| executable | idle RSS per region (MB) | ready (ms) |")
        out.append("|---|---|---|")
        for footprint in footprints {
            out.append("| movr-\(footprint.executable) | \(footprint.residentKilobytes.map { f(Double($0) / 1024, 1) }.joined(separator: ", ")) | \(f(footprint.readySeconds.map { $0 * 1000 }, 0)) |")
        }
        out.append("")

        out.append("### \(Self.sectionTitles[6])")
        out.append("")
        if let hop = databaseHop {
            out.append("`SELECT 1` on the vehicles database, one client, \(seconds) s each: pgbench `-M prepared` (C, libpq) and MovR's `PostgresClient` (pool of one; libpq non-blocking on the calling task's thread; the task polls the socket for the answer itself for up to `--db-spin-us` when it is the client's only statement in flight and recent polls paid off, else the wait goes through the client's epoll watcher thread; both ways measured), then an empty work item through an `NIOThreadPool` (the hand-off a blocking client adds to every statement, which MovR's made until 2026-12-03). CPU per statement of the client process (pgbench: its own process; MovR: the bench process, all threads).")
            out.append("")
            out.append("| client | p50 per statement (µs) | CPU per statement (µs) |")
            out.append("|---|---|---|")
            out.append("| pgbench | \(f(hop.pgbenchP50Micros, 1)) | \(f(hop.pgbenchCPUMicros, 1)) |")
            out.append("| PostgresClient, as the services run it (db-spin-us \(DatabaseSettings.spinMicroseconds.defaultValue); \(hop.statements) statements) | \(f(hop.clientP50Micros, 1)) | \(f(hop.clientCPUMicros, 1)) |")
            if let p50 = hop.watcherP50Micros, let cpu = hop.watcherCPUMicros {
                out.append("| PostgresClient, every wait through the watcher (db-spin-us 0; \(hop.watcherStatements ?? 0) statements) | \(f(p50, 1)) | \(f(cpu, 1)) |")
            }
            out.append("| thread-pool hand-off alone | \(f(hop.hopP50Micros, 1)) | \(f(hop.hopCPUMicros, 1)) |")
        } else {
            out.append("Not measured (see the errors above).")
        }
        out.append("")

        out.append("### \(Self.sectionTitles[7])")
        out.append("")
        out.append("| target | measured | met |")
        out.append("|---|---|---|")
        for (_, target, measured, met) in targets {
            out.append("| \(target) | \(measured) | \(met.map { $0 ? "yes" : "**no**" } ?? "–") |")
        }
        out.append("")
        for note in notes { out.append("- \(note)") }
        if !notes.isEmpty { out.append("") }

        out.append("### \(Self.sectionTitles[9])")
        out.append("")
        out += profilesMarkdown

        out.append("### \(Self.sectionTitles[10])")
        out.append("")
        let bounds = bounds
        if bounds.isEmpty { out.append("Every target above is met.") }
        for line in bounds { out.append("- \(line)") }
        out.append("")
        return out.joined(separator: "\n")
    }
}

/// The section headings every `movr bench` report carries (tests look for them).
public enum BenchmarkReportSections {
    public static var titles: [String] { BenchResults.sectionTitles.map { "### " + $0 } }
    /// The rows of "The first burst after a restart": right after it, then the same again.
    public static let restartBursts = ["right after the restart", "the same again"]
}
