import Foundation
@testable import MovRTool
import Testing

/// The parsing, statistics and rendering helpers of `movr bench` (no tool is run, nothing timed).
@Suite struct BenchmarkParsingTests {
    @Test func medianAndPercentile() {
        #expect(BenchParse.median([]) == 0)
        #expect(BenchParse.median([3, 1, 2]) == 2)
        #expect(BenchParse.median([4, 1, 3, 2]) == 2.5)
        let values = (1...100).map(Double.init).shuffled()
        #expect(BenchParse.percentile(values, 50) == 50)
        #expect(BenchParse.percentile(values, 99) == 99)
        #expect(BenchParse.percentile(values, 100) == 100)
        #expect(BenchParse.percentile([7], 99) == 7)
        #expect(BenchParse.percentile([], 50) == 0)
    }

    static let wrkOutput = """
        Running 10s test @ https://127.0.0.1:18443
          2 threads and 16 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency    18.50ms   10.01ms 120.00ms   70.00%
          Latency Distribution
             50%  950.00us
             75%   20.00ms
             90%   30.00ms
             99%    1.02s
          8170 requests in 10.00s, 9.87MB read
          Socket errors: connect 1, read 2, write 0, timeout 3
          Non-2xx or 3xx responses: 4
        Requests/sec:    816.95
        Transfer/sec:      0.99MB
        rpc_errors: 5
        """

    @Test func wrkOutputIsParsed() throws {
        let output = try #require(BenchParse.wrk(Self.wrkOutput))
        #expect(output.requestsPerSecond == 816.95)
        #expect(output.requests == 8170)
        #expect(abs((output.p50Ms ?? 0) - 0.95) < 1e-9)
        #expect(output.p99Ms == 1020)
        #expect(output.errors == 1 + 2 + 3 + 4 + 5)
        #expect(BenchParse.wrk("no numbers here") == nil)
        #expect(BenchParse.milliseconds("2.00m") == 120_000)
    }

    @Test func pgbenchOutputIsParsed() throws {
        let text = """
            transaction type: /tmp/x.sql
            number of clients: 16
            number of transactions actually processed: 148710
            number of failed transactions: 2 (0.001%)
            latency average = 1.075 ms
            tps = 14871.123456 (without initial connection time)
            statement latencies in milliseconds and failures:
                     0.002           0  \\set n random(1, 12)
                     1.071           2  SELECT id, city FROM vehicles
            """
        let output = try #require(BenchParse.pgbench(text))
        #expect(output.tps == 14871.123456)
        #expect(output.transactions == 148710)
        #expect(output.failed == 2)
        #expect(output.statementLatencies.map(\.ms) == [0.002, 1.071])
        #expect(output.statementLatencies[1].command == "SELECT id, city FROM vehicles")
        #expect(BenchParse.pgbenchTransactionLatencies("0 1 1500 0 1700000000 12\n3 9 250 0 1700000000 13\nbad line\n")
                    == [1.5, 0.25])
        // With -R, the seventh field (schedule lag) counts: latency from the scheduled start.
        #expect(BenchParse.pgbenchTransactionLatencies("0 1 1500 0 1700000000 12 250\n1 2 400 0 1700000000 14 0\n")
                    == [1.75, 0.4])
    }

    @Test func procStatCountsFieldsAfterTheLastParenthesis() throws {
        let text = "4242 (movr (gate) way) S 17 4242 4242 0 -1 4194560 1000 0 0 0 250 75 30 12 20 0 9 0 123 0 0\n"
        let stat = try #require(BenchParse.procStat(text))
        #expect(stat.pid == 4242)
        #expect(stat.name == "movr (gate) way")
        #expect(stat.parent == 17)
        #expect(stat.cpuTicks == 325)
        #expect(stat.reapedChildrenTicks == 42)
        #expect(stat.startTicks == 123)
        #expect(BenchParse.procStat("garbage") == nil)
        #expect(BenchParse.residentKilobytes(status: "Name:\tmovr\nVmRSS:\t   12345 kB\nVmSwap:\t0 kB\n") == 12345)
        #expect(BenchParse.residentKilobytes(status: "Name:\tkthread\n") == nil)
        #expect(BenchParse.contextSwitches(status: "Name:\tNIO-1\nvoluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n") == 127)
        #expect(BenchParse.contextSwitches(status: "Name:\tmovr\nVmRSS:\t1 kB\n") == nil)
        #expect(BenchParse.contextSwitches(status: "voluntary_ctxt_switches:\tmany\n") == nil)
    }

    @Test func cpuPerRequestByProcessAndRole() {
        let perRequest = BenchProcesses.microsPerRequest(
            before: ["us-east1/gateway": 100, "us-west1/vehicles": 10, "postgres": 0],
            after: ["us-east1/gateway": 300, "us-west1/vehicles": 60, "postgres": 100], requests: 1000)
        let tick = 1e6 / BenchProcesses.ticksPerSecond
        #expect(perRequest["us-east1/gateway"] == 200 * tick / 1000)
        let roles = BenchProcesses.byRole(["us-east1/vehicles": 1, "us-west1/vehicles": 2, "postgres": 3])
        #expect(roles == ["vehicles": 3, "postgres": 3])
        #expect(BenchProcesses.microsPerRequest(before: [:], after: ["x": 1], requests: 0).isEmpty)
    }

    @Test func machineLine() {
        let line = BenchParse.machine(cpuinfo: "processor\t: 0\nmodel name\t: AMD EPYC 7B13\n",
                                      meminfo: "MemTotal:       24603648 kB\n", processors: 2)
        #expect(line == "AMD EPYC 7B13, nproc 2, 23.5 GiB RAM")
    }

    static let serverLog = """
        2026-12-02 10:00:00.100 UTC [900] postgres LOG:  statement: SELECT 'marker'
        2026-12-02 10:00:00.200 UTC [901] movr_rides LOG:  execute s3: SELECT c.outcome
        \tFROM rides WHERE rider_id = $1
        \t  AND id = $2
        2026-12-02 10:00:00.201 UTC [902] movr_vehicles LOG:  execute <unnamed>: UPDATE vehicles SET x = $1 WHERE id = $2
        2026-12-02 10:00:00.202 UTC [901] movr_rides DETAIL:  parameters: $1 = 'AAAAAAAA-0000-4000-8000-000000000001', $2 = 'it''s', $3 = NULL
        2026-12-02 10:00:00.203 UTC [902] movr_vehicles DETAIL:  parameters: $1 = '{"a": 1,
        "b": 2}', $2 = '42'
        2026-12-02 10:00:00.204 UTC [903] movr_rides LOG:  duration: 0.1 ms
        """

    @Test func statementsAndBindsFromTheServerLog() {
        let statements = BenchParse.loggedStatements(Self.serverLog)
        #expect(statements.count == 3)
        #expect(statements[0] == .init(database: "postgres", sql: "SELECT 'marker'", parameters: []))
        #expect(statements[1].database == "movr_rides")
        #expect(statements[1].sql == "SELECT c.outcome\n\tFROM rides WHERE rider_id = $1\n\t  AND id = $2")
        #expect(statements[1].parameters == ["AAAAAAAA-0000-4000-8000-000000000001", "it's", nil])
        #expect(statements[2].parameters == ["{\"a\": 1,\n\"b\": 2}", "42"])
        // The unnamed statement is parsed and planned for each execution; a named one is prepared.
        #expect(statements.map(\.plannedEachExecution) == [false, false, true])
    }

    @Test func pgbenchScriptKeepsBindsAsBinds() {
        let ride = "aaaaaaaa-0000-4000-8000-000000000001", vehicle = "bbbbbbbb-0000-4000-8000-000000000002"
        let start = [BenchParse.LoggedStatement(database: "movr_rides",
                                                sql: "INSERT INTO t VALUES ($1, $2, $3, $10, $11, $4, $5, $6, $7, $8, $9);",
                                                parameters: [ride.uppercased(), "us-east1", "12.5", "7", nil, "a", "b", "c", "d", "e", vehicle])]
        let end = [BenchParse.LoggedStatement(database: "movr_rides", sql: "WITH q AS (SELECT 1) SELECT 1 AS outbox_id",
                                              parameters: [ride]),
                   BenchParse.LoggedStatement(database: "movr_rides", sql: "DELETE FROM outbox WHERE id = ANY($1::int8[])",
                                                              parameters: ["{17}"])]
        let unrelated = BenchParse.LoggedStatement(database: "movr_rides", sql: "SELECT now()", parameters: [])
        #expect(RideSQLScript.relevant(start + [unrelated] + end, database: "movr_rides", ids: [ride, vehicle]).count == 3)
        #expect(RideSQLScript.relevant(start, database: "movr_vehicles", ids: [ride]).isEmpty)
        let script = RideSQLScript.make(preamble: "SELECT 1 \\gset", start: start, end: end,
                                        variables: [ride: "ride_id", vehicle: "vehicle_id"], prefix: "r")
        let lines = script.text.split(separator: "\n").map(String.init)
        #expect(lines[1] == "INSERT INTO t VALUES (:ride_id::uuid, :r1_2::text, :r1_3::float8, :r1_10::text, "
                    + ":vehicle_id::uuid, :r1_4::int8, NULL, :r1_6::text, :r1_7::text, :r1_8::text, :r1_9::text);")
        #expect(lines[2] == "WITH q AS (SELECT 1) SELECT 1 AS outbox_id \\gset e_")
        // The service's batch delete, with this cycle's one entry as the batch.
        #expect(lines[3] == "DELETE FROM outbox WHERE id = ANY(ARRAY[:e_outbox_id::int8]);")
        #expect(script.defines["r1_2"] == "us-east1")
        #expect(script.defines["r1_4"] == "7")
        #expect(script.defines.count == 8)
        #expect(script.startCommands == [1])
        #expect(script.endCommands == [2, 3])
        #expect(RideSQLScript.cast(of: "-74.0060") == "float8")
        #expect(RideSQLScript.cast(of: "new york") == "text")
    }

    /// The users database's part of a cycle: the session checks, told from other statements by
    /// the token hash they bind; no preamble, so the first statement is pgbench's command 0.
    @Test func sessionChecksScriptHasNoPreamble() {
        let hash = String(repeating: "ab", count: 32)
        let check = BenchParse.LoggedStatement(database: "movr_users", sql: "SELECT u.id FROM sessions s WHERE s.token_hash = decode($1, 'hex')",
                                               parameters: [hash])
        let purge = BenchParse.LoggedStatement(database: "movr_users", sql: "DELETE FROM sessions WHERE expires_at < $1",
                                               parameters: ["2026-12-02"])
        let start = RideSQLScript.relevant([check, purge], database: "movr_users", ids: [hash])
        let end = RideSQLScript.relevant([check], database: "movr_users", ids: [hash])
        #expect(start.count == 1 && end.count == 1)
        let script = RideSQLScript.make(preamble: "", start: start, end: end, variables: [:], prefix: "u")
        let lines = script.text.split(separator: "\n").map(String.init)
        #expect(lines == ["SELECT u.id FROM sessions s WHERE s.token_hash = decode(:u0_1::text, 'hex');",
                          "SELECT u.id FROM sessions s WHERE s.token_hash = decode(:u1_1::text, 'hex');"])
        #expect(script.defines == ["u0_1": hash, "u1_1": hash])
        #expect(script.startCommands == [0])
        #expect(script.endCommands == [1])
    }

    /// pgbench runs each database's part alone; a cycle costs the sum of their per-cycle times.
    @Test func sqlCycleRateAddsEveryDatabasesPart() {
        var cycle = BenchResults.RideCycle(sqlSource: "", ridesScript: "", vehiclesScript: "")
        cycle.pgbenchRides = [1000]
        cycle.pgbenchVehicles = [2000]
        #expect(abs(BenchResults.sqlCycleRate(cycle) - 2000.0 / 3) < 1e-9)
        cycle.pgbenchUsers = [4000]
        #expect(abs(BenchResults.sqlCycleRate(cycle) - 4000.0 / 7) < 1e-9)
    }

    /// A pgbench run's CPU per transaction: PostgreSQL's growth and the reaped client's, nothing
    /// of the stack's executables.
    @Test func sqlCPUIsPostgresAndPgbenchPerTransaction() {
        let ticks = BenchProcesses.ticksPerSecond
        let before: [String: Int64] = ["postgres": 100, "client": 50, "us-east1/gateway": 7]
        let after: [String: Int64] = ["postgres": 100 + Int64(ticks), "client": 50 + Int64(ticks / 2), "us-east1/gateway": 9]
        let cpu = BenchProcesses.sqlCPU(before: before, after: after, transactions: 1000)
        #expect(cpu.keys.sorted() == ["pgbench", "postgres"])
        #expect(abs((cpu["postgres"] ?? 0) - 1000) < 1e-6)
        #expect(abs((cpu["pgbench"] ?? 0) - 500) < 1e-6)
        #expect(BenchProcesses.sqlCPU(before: before, after: after, transactions: 0).isEmpty)
    }

    /// The ride cycle's SQL three ways: under the path, under pgbench at the path's rate, flat out.
    @Test func rideCycleReportsPostgresAtThePathsRate() {
        var results = Self.results(ratioGateway: 0.6)
        var cycle = BenchResults.RideCycle(sqlSource: "", ridesScript: "", vehiclesScript: "")
        cycle.pgbenchRides = [2000]
        cycle.pgbenchVehicles = [4000]
        cycle.gateway = [.init(throughput: 455, p50Ms: 4, p99Ms: 9, errors: 0)]
        cycle.cpu = [["postgres": 1980, "us-east1/rides": 700]]
        cycle.pgbenchCPU = [["postgres": 1100, "pgbench": 190], ["postgres": 1120, "pgbench": 180]]
        results.rideCycle = cycle
        #expect(!results.markdown.contains("the same statements three ways"), "no sentence without the -R runs")
        cycle.sqlAtPathRate = 455
        cycle.sqlCPUAtPathRate = ["postgres": 1750, "pgbench": 310]
        results.rideCycle = cycle
        #expect(results.markdown.contains("PostgreSQL's CPU per cycle, the same statements three ways: 1980 µs when the path sends them (at 455 cycles/s, CPU table above); 1750 µs when pgbench sends them at that rate (`-R 455`, each database's script in turn, pgbench itself 310 µs); 1110 µs when pgbench sends them flat out (the runs above)."))
    }

    static func results(ratioGateway: Double, errors: Int = 0) -> BenchResults {
        var results = BenchResults(date: "2026-12-02T10:00:00Z", command: "movr bench", machine: "AMD EPYC, nproc 2",
                                   commit: "abc1234", connections: 16, seconds: 10, runs: 1, quick: false)
        var list = BenchResults.ListSize(limit: 25, rowsPerPage: 25)
        list.pgbench = [.init(throughput: 1000, p50Ms: 1, p99Ms: 2, errors: 0)]
        list.gateway = [.init(throughput: ratioGateway * 1000, p50Ms: 3, p99Ms: 4, errors: errors)]
        list.cpu = [["us-east1/gateway": 90, "us-east1/vehicles": 100, "us-west1/vehicles": 60, "postgres": 30]]
        list.switches = [["us-east1/gateway": 0.75, "us-east1/vehicles": 1.5, "us-west1/vehicles": 0.5, "postgres": 2]]
        list.pgbenchCPU = [["postgres": 24, "pgbench": 18], ["postgres": 36, "pgbench": 22], ["postgres": 27, "pgbench": 30]]
        results.lists = [list]
        results.footprints = [.init(executable: "gateway", residentKilobytes: [20_000, 40_000], readySeconds: 0.2)]
        return results
    }

    @Test func reportHasEverySectionAndJudgesTargets() {
        let good = Self.results(ratioGateway: 0.6)
        let text = good.markdown
        for title in BenchmarkReportSections.titles { #expect(text.contains(title)) }
        #expect(text.contains("**Errors: none**"))
        #expect(text.contains("| vehicles.list 25 rows >= 0.5x pgbench at 16 clients | 0.60x | yes |"))
        #expect(text.contains("| CPU per vehicles.list <= 100 µs gateway | 90 µs | yes |"))
        #expect(text.contains("| CPU per vehicles.list <= 150 µs vehicles | 160 µs | **no** |"))
        #expect(text.contains("| idle RSS < 30 MB (largest executable) | 39.1 MB | **no** |"))
        #expect(text.contains("| ready < 1 s (slowest executable) | 200 ms | yes |"))
        #expect(text.contains("| **vehicles** | 2.00 |"))
        #expect(text.contains("| **gateway** | 0.75 |"))
        // PostgreSQL's and pgbench's CPU over the pgbench runs: medians, beside the path's rows.
        #expect(text.contains("| *postgres, pgbench sending the statements* | 27.0 |"))
        #expect(text.contains("| *pgbench* | 22.0 |"))
        let bad = Self.results(ratioGateway: 0.4, errors: 3).markdown
        #expect(bad.contains("**ERRORS: 3 failed"))
        #expect(bad.contains("| 0.40x | **no** |"))
    }
}
