import Foundation
import MovRTool
import Testing

/// `movr bench --quick` on a private stack of its own (its pgbench ride cycle writes synthetic
/// rides, which must not land in the shared test stack whose invariants other tests check):
/// every report section is there. Nothing is timed; the numbers are not checked, only that each
/// measurement ran and was reported.
@Suite struct BenchmarkToolTests {
    static let loadTools = ["/usr/bin/wrk", "/usr/bin/pgbench", "/usr/bin/psql"]
    static var missingTools: [String] { loadTools.filter { !FileManager.default.isExecutableFile(atPath: $0) } }

    @Test(.enabled(if: BenchmarkToolTests.missingTools.isEmpty,
                   "movr bench needs wrk, pgbench and psql (make test-deps installs them)"))
    func quickBenchReportsEverySection() async throws {
        let directory = NSTemporaryDirectory() + "movr-bench-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let markdown = directory + "/benchmarks.md"
        try "# Benchmarks\n\nearlier text\n".write(toFile: markdown, atomically: true, encoding: .utf8)
        let (status, output) = try await LocalStackHarness.runTool(
            ["bench", "--quick", "--connections", "4", "--markdown", markdown,
             "--report", directory + "/report.json"])
        #expect(status == 0, "\(output.suffix(4000))")
        // Its own stack's database files are gone once it stopped; the server log is kept.
        if let logged = output.firstRange(of: "(log: "), let end = output[logged.upperBound...].firstRange(of: "/stack.log") {
            let work = String(output[logged.upperBound..<end.lowerBound])
            #expect(!FileManager.default.fileExists(atPath: work + "/stack/pgdata"), "\(work)/stack/pgdata left behind")
            #expect(FileManager.default.fileExists(atPath: work + "/postgres-server.log"))
        } else {
            Issue.record("no stack log path in the output")
        }
        let text = try String(contentsOfFile: markdown, encoding: .utf8)
        #expect(text.hasPrefix("# Benchmarks\n\nearlier text\n"), "the report is appended, nothing replaced")
        // Debug binaries on a shared machine may time a request out; the report must say so at the top.
        #expect(text.contains("**Errors: none** in any run.") || text.contains("**ERRORS: "), "no error summary")
        for title in BenchmarkReportSections.titles {
            #expect(text.contains(title), "missing section \(title)")
        }
        // Every method's row has the one-client p50 of its own statements (captured from the
        // server log; cities.list sends none) and so a target row.
        let lines = text.split(separator: "\n").map(String.init)
        // The single-client section's rows (other tables have rows named after methods too).
        let singleClient = lines.drop { $0 != "### Single-client latency" }.dropFirst().prefix { !$0.hasPrefix("### ") }
        #expect(!singleClient.isEmpty, "no single-client section")
        for method in ["cities.list", "users.me", "auth.logout", "vehicles.list", "vehicles.get", "vehicles.add",
                       "vehicles.mine", "vehicles.location_history", "vehicles.remove", "rides.start",
                       "rides.update_location", "rides.end", "rides.list", "rides.get", "promo_codes.list",
                       "promo_codes.create", "promo_codes.apply"] {
            let row = singleClient.first { $0.hasPrefix("| \(method) | ") }
            let cells = row.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            #expect(cells.count == 7 && Double(cells[4]) != nil, "no single-client row with SQL for \(method): \(String(describing: row))")
            #expect(lines.contains { $0.hasPrefix("| \(method) single-client p50 <= 2x SQL + 0.3 ms/hop (") },
                    "no single-client target for \(method)")
        }
        #expect(lines.contains { $0.hasPrefix("| cities.list | ") && $0.contains("| 0.000 | none: a capture without any statement") },
                "cities.list captured statements")
        // A write replays with its new row's key drawn per transaction; one that changes its
        // row for good changes a live copy in (nearly) every transaction: one in 200 draws may
        // repeat an earlier one.
        for method in ["vehicles.add", "promo_codes.create", "promo_codes.apply"] {
            #expect(lines.contains { $0.hasPrefix("| \(method) | ") && $0.contains("the new row's key new in each transaction") },
                    "\(method) replayed without a new key")
        }
        for (method, done) in [("auth.logout", "revoked"), ("vehicles.remove", "removed")] {
            let row = lines.first { $0.hasPrefix("| \(method) | ") } ?? ""
            let changed = row.firstRange(of: " \(done) in 300 transactions)").flatMap { range in
                Int(row[..<range.lowerBound].split(separator: "(").last ?? "")
            }
            #expect((changed ?? 0) >= 290 && (changed ?? 0) <= 300, "\(method)'s replay \(done) \(String(describing: changed)): \(row)")
        }
        #expect(!text.contains("single-client latencies: "), "the single-client section failed")
        #expect(text.contains("| 25 ("), "no 25-row list row")
        #expect(text.contains("| 100 ("), "no 100-row list row")
        #expect(text.contains("-- movr_rides") && text.contains("-- movr_vehicles"), "no captured ride-cycle SQL")
        #expect(!text.contains("ride cycle: "), "the ride cycle failed")
        #expect(text.contains("| PostgresClient, as the services run it (db-spin-us ")
                    && text.contains("| PostgresClient, every wait through the watcher (db-spin-us 0; ")
                    && text.contains("| thread-pool hand-off alone |"), "no database client rows")
        #expect(!text.contains("database client: "), "the database client section failed")
        #expect(text.contains("| **client** (wrk; load engine) |"), "no CPU row for the sender")
        // PostgreSQL's CPU while pgbench sent the same work: a figure in each column (two list
        // sizes and the ride cycle).
        let sqlRow = text.split(separator: "\n").first { $0.hasPrefix("| *postgres, pgbench sending the statements* |") }
        let sqlCells = sqlRow.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
        #expect(sqlCells.count == 4 && sqlCells.dropFirst().allSatisfy { (Double($0) ?? 0) > 0 },
                "no PostgreSQL CPU under pgbench: \(String(describing: sqlRow))")
        #expect(text.contains("PostgreSQL's CPU per cycle, the same statements three ways: ") && !text.contains("pgbench cycle-"),
                "no ride-cycle SQL at the path's rate")
        // The floor ran (HAProxy from make test's packages) and its row carries figures.
        #expect(!text.contains("transport floor"), "the floor section failed")
        let floorRow = text.split(separator: "\n").first { $0.hasPrefix("| HAProxy -> HAProxy | ") }
        let floorCells = floorRow.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
        #expect(floorCells.count == 5 && floorCells[3] != "–" && floorCells[4].split(separator: "/").count == 3,
                "no floor row: \(String(describing: floorRow))")
        let halfRate = text.split(separator: "\n").filter { $0.hasPrefix("| 50% |") }
        let cells = halfRate.first.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
        #expect(halfRate.count == 1 && cells.count == 15, "no 50 % sweep row: \(halfRate)")
        if cells.count == 15 {
            #expect(cells[9] != "– / –", "no pgbench -R figures beside the sweep: \(halfRate)")
            // gateway / vehicles / postgres / load engine, each a figure
            let cpu = cells[10].split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(cpu.count == 4 && cpu.allSatisfy { Double($0.replacingOccurrences(of: " ", with: "")) != nil }, "no CPU per request at the sweep's rate: \(halfRate)")
            // postgres / pgbench during pgbench -R at the same rate, each a figure above zero
            let sqlCPU = cells[11].split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(sqlCPU.count == 2 && sqlCPU.allSatisfy { (Double($0.replacingOccurrences(of: " ", with: "")) ?? 0) > 0 },
                    "no CPU per transaction of pgbench's run at the sweep's rate: \(halfRate)")
            // requests over 5 ms: all / in the first second / tenths holding any, whole numbers
            let slow = cells[12].split(separator: "/").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            #expect(slow.count == 3 && slow[1] <= slow[0] && slow[2] <= slow[0], "no tail profile at the sweep's rate: \(halfRate)")
            // other programs' CPU (with the largest when any used some) and stolen time, milliseconds
            let figures = cells[13].components(separatedBy: " (").first ?? ""
            let others = figures.split(separator: "/").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            #expect(others.count == 2, "no other programs' CPU at the sweep's rate: \(halfRate)")
            // the database's upkeep during the point: checkpoints / buffers written / autovacuums
            let upkeep = cells[14].split(separator: "/").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            #expect(upkeep.count == 3 && upkeep.allSatisfy { $0 >= 0 }, "no upkeep counts at the sweep's rate: \(halfRate)")
        }
        // The ride cycle at half rate: a row per operation with pgbench's tail at the same cycle
        // rate, the other programs' CPU and the database's upkeep beside it.
        let rideHalf = text.split(separator: "\n").map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
            .filter { $0.count == 11 && ($0[0] == "rides.start" || $0[0] == "rides.end") }
        #expect(rideHalf.count == 2, "no ride cycle rows at half rate")
        for cells in rideHalf {
            let sql = cells[8].split(separator: "/").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            #expect(sql.count == 2 && sql.allSatisfy { $0 > 0 }, "no pgbench -R figures beside the ride cycle: \(cells)")
            #expect(Int(cells[7]) != nil, "no late count: \(cells)")
            let upkeep = cells[10].split(separator: "/").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            #expect(upkeep.count == 3, "no upkeep counts beside the ride cycle: \(cells)")
        }
        // The ride cycle's upkeep was paid before the sweep (the bench's stack has a superuser).
        #expect(text.contains("and a `CHECKPOINT` (") && !text.contains("`CHECKPOINT`: it failed"),
                "the database was not settled after the ride cycle")
        // Both extra runs were profiled (make test installs linux-perf): a samples row for each
        // workload's roles, and a line per target not met (or the sentence saying all are met).
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/perf") {
            #expect(!text.contains("not profiled"), "a profile failed")
            #expect(text.contains("**vehicles.list 25 rows** (2 s)\n\n| kind | gateway | vehicles | postgres |"),
                    "no profile of the list")
            #expect(text.contains("**ride cycle** (2 s)\n\n| kind | gateway | users | vehicles | rides | postgres |"),
                    "no profile of the ride cycle")
            let samples = text.split(separator: "\n").filter { $0.hasPrefix("| samples | ") }
            #expect(samples.count == 2 && samples.allSatisfy {
                $0.split(separator: "|").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
                    .allSatisfy { (Int($0) ?? 0) > 0 }
            }, "a role without samples: \(samples)")
        }
        // The primary region restarted, then two bursts: right after it was ready, and again warm,
        // each with every request answered.
        #expect(!text.contains("first burst after a restart: "), "the restart failed")
        for label in BenchmarkReportSections.restartBursts {
            let row = text.split(separator: "\n").first { $0.hasPrefix("| \(label) |") }
            let cells = row.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            #expect(cells.count == 10 && cells[6] == "0" && (Double(cells[2]) ?? 0) > 0, "no restart burst row \(label): \(row ?? "")")
        }
        let bounds = text.components(separatedBy: "### What bounds the targets not met\n\n").last ?? ""
        #expect(bounds.hasPrefix("- **") || bounds.hasPrefix("Every target above is met."), "no bounds: \(bounds.prefix(300))")
        #expect(FileManager.default.fileExists(atPath: directory + "/report.json"))
    }
}
