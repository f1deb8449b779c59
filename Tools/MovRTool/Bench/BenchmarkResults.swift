import Foundation

/// Everything one `movr bench` run measured; rendered as the dated Markdown section appended to
/// docs/benchmarks.md and written as JSON.
struct BenchResults: Codable, Sendable {
    struct Run: Codable, Sendable {
        var throughput: Double
        var p50Ms: Double?
        var p99Ms: Double?
        var errors: Int
        var requests: Int = 0
    }

    struct ListSize: Codable, Sendable {
        var limit: Int
        /// Mean rows a page held over the cities (a city may have fewer vehicles than `limit`).
        var rowsPerPage: Double
        var pgbench: [Run] = []
        var gateway: [Run] = []
        /// Per wrk run: CPU microseconds per request of each process (`us-east1/gateway`, `postgres`).
        var cpu: [[String: Double]] = []
        /// Per wrk run: context switches per request of each process (all its threads).
        var switches: [[String: Double]] = []
        /// Per pgbench run: CPU microseconds per transaction of `postgres` and of `pgbench` itself.
        var pgbenchCPU: [[String: Double]] = []
    }

    struct RideCycle: Codable, Sendable {
        var sqlSource: String
        var ridesScript: String
        var vehiclesScript: String
        /// The session checks of the cycle's two calls (movr_users); empty when none was captured.
        var usersScript: String = ""
        /// Cycles per second of each tool, per run.
        var pgbenchRides: [Double] = []
        var pgbenchVehicles: [Double] = []
        var pgbenchUsers: [Double] = []
        var gateway: [Run] = []
        var cpu: [[String: Double]] = []
        var switches: [[String: Double]] = []
        /// Per run: CPU microseconds per cycle of `postgres` and of `pgbench` while pgbench ran
        /// the statements, each database's script's figure per transaction added up.
        var pgbenchCPU: [[String: Double]] = []
        /// pgbench's open model (`-R`) at the path's median cycle rate, each database's script in
        /// turn: the rate in cycles/s and the CPU per cycle of `postgres` and `pgbench`, added up.
        var sqlAtPathRate: Double?
        var sqlCPUAtPathRate: [String: Double]?
        var errors: [String] = []
        /// Open model at half the measured cycle rate: per operation p50/p99/max.
        var halfRate: [SweepPoint] = []
        /// One client: summed mean latency (ms) of the statements of rides.start and rides.end
        /// (the session check in movr_users included).
        var oneClientSQLMs: [String: Double] = [:]
    }

    struct Latency: Codable, Sendable {
        var method: String
        var calls: Int
        var p50Ms: Double
        var p99Ms: Double
        var errors: Int
        /// One-client SQL latency of the statements the method runs, when known.
        var sqlP50Ms: Double?
        var sqlSource: String?
        /// Network hops the request takes (client -> gateway -> service = 2).
        var hops: Int
    }

    struct SweepPoint: Codable, Sendable {
        var label: String
        var rate: Double
        var achieved: Double
        var p50Ms: Double
        var p99Ms: Double
        var maxMs: Double
        var errors: Int
        var late: Int
        var unsent: Int
        /// pgbench `-R` at the same rate on the list's SQL: p99 and maximum from the scheduled start.
        var sqlP99Ms: Double?
        var sqlMaxMs: Double?
        /// CPU per request (µs) of each role (gateway, vehicles, postgres, client) at this rate.
        var cpuMicros: [String: Double]?
        /// CPU per transaction (µs) of PostgreSQL and of pgbench during the pgbench `-R` run.
        var sqlCPUMicros: [String: Double]?
        /// Requests slower than ``BenchResults/sweepSlowMs``, per tenth of a second of the run.
        var slowByTenth: [Int]?
        /// During the run: what every other program on the machine used (milliseconds of CPU,
        /// largest first; ``BenchProcesses/others``), and milliseconds the hypervisor stole.
        var others: [NamedMillis]?
        var stealMs: Double?
        /// The database's upkeep counted during the point (checkpoints, the buffers they
        /// wrote, autovacuum and autoanalyze runs); nil when not counted.
        var upkeep: DatabaseUpkeep?
        /// When the point ran more than once: every run's p99 in order (the rest of the point
        /// is the run with the median p99, ``medianRun(of:)``).
        var p99RunsMs: [Double]?

        var othersMs: Double? { others.map { $0.reduce(0) { $0 + $1.ms } } }

        /// Of the requests over the threshold: all, those meant for the run's first second, and
        /// how many tenths of a second hold any ("–" when not counted).
        var slowSummary: String {
            guard let slowByTenth else { return "–" }
            let first = slowByTenth.prefix(10).reduce(0, +)
            return "\(slowByTenth.reduce(0, +)) / \(first) / \(slowByTenth.filter { $0 > 0 }.count)"
        }
    }

    struct NamedMillis: Codable, Sendable, Equatable {
        var name: String
        var ms: Double
    }

    /// The sweep counts requests slower than this: the list's p99 target at half load.
    static let sweepSlowMs = 5.0

    /// wrk through two HAProxy hops serving the gateway's reply from a file (``TransportFloor``).
    struct Floor: Codable, Sendable {
        var replyBytes: Int
        var runs: [Run] = []
        /// Per run: CPU microseconds per request of `outer`, `inner` (the proxies) and `client` (wrk).
        var cpu: [[String: Double]] = []
    }

    struct Footprint: Codable, Sendable {
        var executable: String
        /// VmRSS (kB) of each running instance (one per region) after start and demo data.
        var residentKilobytes: [Int]
        /// Seconds from spawn to the first answered call of an extra instance.
        var readySeconds: Double?
    }

    var date: String
    var command: String
    var machine: String
    var commit: String
    var connections: Int
    var seconds: Int
    var runs: Int
    var quick: Bool
    var lists: [ListSize] = []
    var floor: Floor?
    var rideCycle: RideCycle?
    /// The upkeep paid after the ride cycle's writes (``Benchmark/settleDatabase(superuserURL:)``).
    var settle: Settle?
    var latencies: [Latency] = []
    var sweep: [SweepPoint] = []
    /// The first burst after the primary region's executables restart, then the same again
    /// (``Benchmark/restartBursts(stack:processes:client:cities:rate:)``).
    var restart: [SweepPoint] = []
    /// Why ``restart`` is empty, when it is not for an error.
    var restartNote: String?
    var databaseHop: DatabaseHop?
    var footprints: [Footprint] = []
    /// Where each process's CPU went in one extra run of the 25-row list and of the ride cycle.
    var profiles: [ProfileRun] = []
    /// Cores of the machine (the CPU the processes share).
    var processors = 0
    /// Anything that failed; shown at the top of the report.
    var errors: [String] = []
    var notes: [String] = []
}

extension BenchResults {
    static let sectionTitles = ["vehicles.list: gateway vs pgbench", "CPU per request", "Ride cycle",
                                "Single-client latency", "Fixed-rate sweep", "Idle RSS and start-to-ready",
                                "Database client: one statement, one client", "Targets",
                                "Two TLS hops without MovR (HAProxy)", "Profiles",
                                "What bounds the targets not met", "The first burst after a restart"]

    func median(_ runs: [Run], _ value: (Run) -> Double?) -> Double {
        BenchParse.median(runs.compactMap(value))
    }

    /// A per-request figure (CPU µs, context switches) by role (gateway, vehicles, users, rides,
    /// postgres): each run summed over regions, then the median over runs.
    static func perRequestByRole(_ runs: [[String: Double]]) -> [String: Double] {
        let roles = runs.map(BenchProcesses.byRole)
        let names = Set(roles.flatMap(\.keys))
        return Dictionary(uniqueKeysWithValues: names.map { name in (name, BenchParse.median(roles.map { $0[name] ?? 0 })) })
    }

    var totalErrors: Int {
        lists.flatMap { $0.pgbench + $0.gateway }.reduce(0) { $0 + $1.errors }
            + (floor?.runs.reduce(0) { $0 + $1.errors } ?? 0)
            + (rideCycle?.gateway.reduce(0) { $0 + $1.errors } ?? 0)
            + latencies.reduce(0) { $0 + $1.errors } + sweep.reduce(0) { $0 + $1.errors }
            + restart.reduce(0) { $0 + $1.errors }
            + (rideCycle?.halfRate.reduce(0) { $0 + $1.errors } ?? 0)
    }

    /// The targets, named so the report's bounds lines can find the ones not met.
    enum Target: Sendable {
        case listRatio, gatewayCPU, vehiclesCPU, pages100, rideRatio, rideTail, singleClientP50, listTail, idleRSS, ready
    }

    /// Single client: the most a method's p50 may be (2x the p50 of its SQL + 0.3 ms per hop),
    /// when its SQL was measured.
    static func allowedP50(_ latency: Latency) -> Double? {
        latency.sqlP50Ms.map { 2 * $0 + 0.3 * Double(latency.hops) }
    }

    /// (key, target, measured, met) for the targets; met is nil when not measured.
    var targets: [(key: Target, target: String, measured: String, met: Bool?)] {
        var rows: [(key: Target, target: String, measured: String, met: Bool?)] = []
        func f(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
        if let list = lists.first(where: { $0.limit == 25 }) {
            let ratio = ratioOf(list)
            let bound = floorRatios.map { " (two TLS hops of HAProxy alone: \(f($0.floor))x; with the statement: ~\(f($0.withStatement))x)" } ?? ""
            rows.append((.listRatio, "vehicles.list 25 rows >= 0.5x pgbench at \(connections) clients", "\(f(ratio))x\(bound)", ratio >= 0.5))
            let cpu = Self.perRequestByRole(list.cpu)
            if let gateway = cpu["gateway"] {
                rows.append((.gatewayCPU, "CPU per vehicles.list <= 100 µs gateway", "\(f(gateway, 0)) µs", gateway <= 100))
            }
            if let vehicles = cpu["vehicles"] {
                rows.append((.vehiclesCPU, "CPU per vehicles.list <= 150 µs vehicles", "\(f(vehicles, 0)) µs", vehicles <= 150))
            }
        }
        if let list = lists.first(where: { $0.limit == 100 }) {
            let rows100 = median(list.gateway, { $0.throughput }) * list.rowsPerPage
            rows.append((.pages100, "100-row pages >= 200k vehicles/s", "\(f(rows100, 0)) vehicles/s (\(f(list.rowsPerPage, 1)) rows/page)",
                         rows100 >= 200_000))
        }
        if let cycle = rideCycle {
            let ratio = Self.cycleRatio(cycle)
            rows.append((.rideRatio, "ride cycle >= 0.4x pgbench", "\(f(ratio))x", ratio >= 0.4))
            if let half = cycle.halfRate.map(\.p99Ms).max() {
                rows.append((.rideTail, "ride cycle p99 at 50% of max < 15 ms (per request)", "\(f(half, 1)) ms", half < 15))
            }
        }
        for latency in latencies {
            guard let bound = Self.allowedP50(latency) else { continue }
            rows.append((.singleClientP50, "\(latency.method) single-client p50 <= 2x SQL + 0.3 ms/hop (\(f(bound)) ms)",
                         "\(f(latency.p50Ms)) ms", latency.p50Ms <= bound))
        }
        if let half = sweep.first(where: { $0.label == "50%" }) {
            rows.append((.listTail, "vehicles.list p99 at 50% of max < \(f(Self.sweepSlowMs, 0)) ms", "\(f(half.p99Ms, 1)) ms",
                         half.p99Ms < Self.sweepSlowMs))
        }
        if footprints.contains(where: { !$0.residentKilobytes.isEmpty }) {
            let largest = footprints.flatMap(\.residentKilobytes).max() ?? 0
            rows.append((.idleRSS, "idle RSS < 30 MB (largest executable)", "\(f(Double(largest) / 1024, 1)) MB", largest < 30 * 1024))
        }
        if !footprints.isEmpty {
            let ready = footprints.compactMap(\.readySeconds)
            if let slowest = ready.max() {
                rows.append((.ready, "ready < 1 s (slowest executable)", "\(f(slowest * 1000, 0)) ms", slowest < 1))
            }
        }
        return rows
    }

    /// The floor's median req/s over pgbench's median on the 25-row statement, and an estimate
    /// of the most two TLS hops plus that statement reach here: both paths' machine time per
    /// request added, 1 / (1/floor + 1/pgbench) (it charges the statement pgbench's whole cost
    /// per transaction, its client's included).
    var floorRatios: (floor: Double, withStatement: Double)? {
        guard let floor, let list = lists.first(where: { $0.limit == 25 }) else { return nil }
        let sql = median(list.pgbench, { $0.throughput }), proxies = median(floor.runs, { $0.throughput })
        guard sql > 0, proxies > 0 else { return nil }
        return (proxies / sql, 1 / (1 / proxies + 1 / sql) / sql)
    }

    func ratioOf(_ list: ListSize) -> Double {
        let sql = median(list.pgbench, { $0.throughput })
        return sql > 0 ? median(list.gateway, { $0.throughput }) / sql : 0
    }

    /// pgbench's cycle rate when one client runs every database's statements in turn: the
    /// users (session checks), rides and vehicles parts were run separately, so their
    /// per-cycle times add.
    static func sqlCycleRate(_ cycle: RideCycle) -> Double {
        let rides = BenchParse.median(cycle.pgbenchRides), vehicles = BenchParse.median(cycle.pgbenchVehicles)
        guard rides > 0, vehicles > 0 else { return 0 }
        let users = BenchParse.median(cycle.pgbenchUsers)
        return 1 / (1 / rides + 1 / vehicles + (users > 0 ? 1 / users : 0))
    }

    static func cycleRatio(_ cycle: RideCycle) -> Double {
        let sql = sqlCycleRate(cycle)
        return sql > 0 ? BenchParse.median(cycle.gateway.map(\.throughput)) / sql : 0
    }
}
