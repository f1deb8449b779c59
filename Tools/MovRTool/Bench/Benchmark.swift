import Foundation
import Logging
import MovRAPI
import MovRDevTools
import MovRLocality
import MovRService
import MovRVehicles

/// `movr bench`: one run, everything on this machine, the same concurrency for every tool —
/// vehicles.list (25 and 100 rows) through the gateway vs pgbench on the store's statement, CPU
/// per request of every process, the ride cycle vs pgbench on the statements it really sends,
/// single-client latencies, a fixed-rate sweep, idle RSS and start-to-ready times. Runs
/// alternate; medians and ratios are reported (the machine is shared and noisy), as a dated
/// Markdown section appended to docs/benchmarks.md and as JSON.
public struct Benchmark: Sendable {
    public struct Options: Sendable {
        public var seconds = 10
        public var connections = 16
        public var runs = 3
        public var limits = [25, 100]
        /// A short smoke run: 2 s, one run, few single-client calls.
        public var quick = false
        public var latencyCalls = 200
        /// Use this running stack; otherwise `movr up` starts a private one for the run.
        public var stackFile: String?
        public var reportPath = ".movr/bench-report.json"
        /// The Markdown section is appended here (nil: not written).
        public var markdownPath: String? = "docs/benchmarks.md"
        /// The command line, quoted in the report.
        public var command = "movr bench"
        /// Database connections per service process of the private stack (`movr up
        /// --db-pool-size`; 0: the services' default).
        public var dbPoolSize = 0
        public init() {}
    }

    let options: Options
    let logger: Logger

    /// How long `perf record` samples the extra profiled runs.
    var profileSeconds: Double { options.quick ? 2 : 5 }

    public init(options: Options, logger: Logger) {
        var options = options
        if options.quick {
            options.seconds = min(options.seconds, 2)
            options.runs = 1
            options.latencyCalls = min(options.latencyCalls, 20)
        }
        self.options = options
        self.logger = logger
    }

    /// Runs everything; returns the results (also written to the report paths).
    @discardableResult
    public func run() async throws -> String {
        for tool in ["/usr/bin/pgbench", "/usr/bin/wrk", "/usr/bin/psql"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw StackError("\(tool) not found (make bench installs postgresql and wrk)")
        }
        let work = FileManager.default.currentDirectoryPath + "/.movr/bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var up: BackgroundProcess?
        let stackPath: String
        let privateStack = work + "/stack"
        if let given = options.stackFile {
            stackPath = given
        } else {
            let (process, path) = try await startStack(directory: privateStack)
            up = process
            stackPath = path
        }
        // The private stack stops whatever happens (no `defer`: stopping it is asynchronous).
        do {
            let markdown = try await measure(stackPath: stackPath, work: work)
            if let up { await Self.stopPrivateStack(up, directory: privateStack, work: work) }
            return markdown
        } catch {
            if let up { await Self.stopPrivateStack(up, directory: privateStack, work: work) }
            throw error
        }
    }

    /// Stops the bench's own stack and deletes its database files (close to a gigabyte after a
    /// run; repeated runs filled the disk), keeping the server log, with the statements the
    /// captures read, as `postgres-server.log` beside the other work files.
    static func stopPrivateStack(_ up: BackgroundProcess, directory: String, work: String) async {
        await BenchStack.stop(up)
        let data = directory + "/pgdata"
        // Only once the server is gone: a running one would keep writing into removed files.
        guard !FileManager.default.fileExists(atPath: data + "/postmaster.pid") else {
            Console.line("the benchmark's database still runs; its files stay in \(data)")
            return
        }
        try? FileManager.default.moveItem(atPath: data + "/server.log", toPath: work + "/postgres-server.log")
        try? FileManager.default.removeItem(atPath: data)
    }

    /// Everything `run` does against the stack described by `stackPath`.
    private func measure(stackPath: String, work: String) async throws -> String {
        let stackDirectory = URL(fileURLWithPath: stackPath).deletingLastPathComponent().path
        let stack = try StackFile.load(stackPath)
        let locality = try Locality.loadDefault()
        let gateway = try stack.topology.url(of: .gateway, in: stack.primaryRegion)
        let cities = locality.cities.map(\.name)
        let processes = BenchProcesses.load(stackDirectory: stackDirectory)

        var results = BenchResults(date: RFC3339.string(from: Date()), command: options.command,
                                   machine: BenchMachine.describe(), commit: await BenchMachine.commit(),
                                   connections: options.connections, seconds: options.seconds, runs: options.runs,
                                   quick: options.quick)
        results.processors = ProcessInfo.processInfo.activeProcessorCount
        if processes.members.isEmpty { results.errors.append("no pids file in \(stackDirectory): no CPU or RSS per process") }
        let idleRSS = processes.residentKilobytes()

        let client = try stack.gatewayClient(maxConnections: options.connections * 4, logger: logger)
        defer { Task { [client] in await client.shutdown() } }
        let (riders, admin) = try await prepareRiders(stack: stack, count: options.connections, client: client, work: work)

        // 1 + 2. vehicles.list at each page size, pgbench and wrk alternating, CPU per request.
        let vehiclesURL = databaseURL(stack.databaseURL, "movr_vehicles")
        for limit in options.limits {
            var list = BenchResults.ListSize(limit: limit, rowsPerPage: 0)
            var rows = 0
            for city in cities {
                rows += try await client.call("vehicles.list", VehiclesListParams(limit: limit), as: VehiclesListResult.self,
                                              city: city).vehicles.count
            }
            list.rowsPerPage = Double(rows) / Double(cities.count)
            guard rows > 0 else { throw StackError("no vehicles to list; load demo data first") }
            let sqlScript = try writeListPgbenchScript(directory: work, cities: cities, limit: limit)
            let wrkScript = try writeWrkScript(directory: work, cities: cities, limit: limit)
            // The 25-row runs alternate with the same two TLS hops made by HAProxy (BenchmarkFloor).
            let floor = limit == 25
                ? await startFloor(stack: stack, client: client, city: cities[0], limit: limit, work: work, results: &results)
                : nil
            do {
                for run in 1...options.runs {
                    Console.line("vehicles.list \(limit) rows, run \(run)/\(options.runs): pgbench (SQL only)...")
                    let sqlBefore = processes.cpuTicks()
                    let sql = try await pgbench(script: sqlScript, databaseURL: vehiclesURL, clients: options.connections,
                                                work: work, name: "list\(limit)").run
                    list.pgbench.append(sql)
                    list.pgbenchCPU.append(BenchProcesses.sqlCPU(before: sqlBefore, after: processes.cpuTicks(),
                                                                 transactions: sql.requests))
                    Console.line("vehicles.list \(limit) rows, run \(run)/\(options.runs): wrk -> gateway...")
                    let before = processes.cpuTicks()
                    let switchesBefore = processes.contextSwitches()
                    let sample = try await wrk(script: wrkScript, url: gateway, log: work + "/wrk-\(limit).log")
                    list.cpu.append(BenchProcesses.microsPerRequest(before: before, after: processes.cpuTicks(),
                                                                     requests: sample.requests))
                    list.switches.append(BenchProcesses.switchesPerRequest(before: switchesBefore, after: processes.contextSwitches(),
                                                                            requests: sample.requests))
                    list.gateway.append(sample)
                    if sample.errors > 0 {
                        let log = (try? String(contentsOfFile: work + "/wrk-\(limit).log", encoding: .utf8)) ?? ""
                        let kinds = log.split(separator: "\n").filter {
                            $0.contains("Socket errors") || $0.contains("Non-2xx") || $0.hasPrefix("rpc_errors")
                        }.map { $0.trimmingCharacters(in: .whitespaces) }
                        results.errors.append("wrk vehicles.list \(limit) rows run \(run): \(kinds.joined(separator: ", "))")
                    }
                    if let floor {
                        Console.line("vehicles.list \(limit) rows, run \(run)/\(options.runs): wrk -> HAProxy -> HAProxy (no MovR)...")
                        await measureFloor(floor, run: run, wrkScript: wrkScript, work: work, results: &results)
                    }
                }
            } catch {
                await floor?.stop()
                throw error
            }
            await floor?.stop()
            results.lists.append(list)
            if limit == 25 {
                Console.line("vehicles.list \(limit) rows: one more wrk run under perf record (not counted)...")
                let seconds = profileSeconds, region = stack.primaryRegion
                let log = work + "/wrk-\(limit)-profiled.log"
                let wrkArguments = ["/usr/bin/wrk", "-t", "2", "-c", "\(options.connections)",
                                    "-d", "\(Int(seconds.rounded(.up)) + 2)s", "-s", wrkScript, gateway]
                results.profiles.append(await BenchProfiler(work: work).profile(
                    workload: "vehicles.list \(limit) rows", seconds: seconds,
                    roles: { [("gateway", processes.pids(role: "gateway", region: region)),
                              ("vehicles", processes.pids(role: "vehicles")), ("postgres", processes.postgresPIDs())] },
                    load: { _ = try await runTool(wrkArguments, log: log) }))
            }
        }

        // 3. The ride cycle.
        do {
            results.rideCycle = try await rideCycle(stack: stack, riders: riders, client: client, work: work,
                                                    stackDirectory: stackDirectory, processes: processes)
        } catch {
            results.errors.append("ride cycle: \(error)")
        }
        if results.rideCycle != nil {
            Console.line("ride cycle: one more closed-loop run under perf record (not counted)...")
            // From a vacuumed database, as the counted runs.
            if let failure = await vacuum(superuserURL: stack.databaseURL, databases: ["movr_rides", "movr_vehicles"]) {
                results.errors.append(failure)
            }
            let seconds = profileSeconds, connections = options.connections
            let workload = RideCycleWorkload(client: client, riders: riders)
            results.profiles.append(await BenchProfiler(work: work).profile(
                workload: "ride cycle", seconds: seconds,
                roles: { ["gateway", "users", "vehicles", "rides"].map { ($0, processes.pids(role: $0)) }
                    + [("postgres", processes.postgresPIDs())] },
                load: {
                    _ = await LoadGenerator.run(LoadConfiguration(duration: seconds + 1.2, concurrency: connections),
                                                workload: workload)
                }))
        }

        // The ride cycle wrote for a minute: vacuum and checkpoint now, so a timed checkpoint
        // or autovacuum of its rows does not run beside the read-only phases after it.
        Console.line("settling the database after the ride cycle (VACUUM ANALYZE, CHECKPOINT)...")
        results.settle = await settleDatabase(superuserURL: stack.databaseURL)

        // 4. Single-client latencies.
        do {
            results.latencies = try await singleClientLatencies(riders: riders, admin: admin, client: client, cities: cities,
                                                                cycle: results.rideCycle, work: work,
                                                                vehiclesURL: vehiclesURL, superuserURL: stack.databaseURL,
                                                                logPath: stackDirectory + "/pgdata/server.log")
        } catch {
            results.errors.append("single-client latencies: \(error)")
        }

        // 5. Fixed-rate sweep at fractions of the closed-loop maximum (25 rows).
        if let list = results.lists.first(where: { $0.limit == 25 }) ?? results.lists.first {
            let maximum = BenchParse.median(list.gateway.map(\.throughput))
            let workload = VehiclesListWorkload(client: client, cities: cities, limit: list.limit)
            let sqlScript = try writeListPgbenchScript(directory: work, cities: cities, limit: list.limit)
            let upkeepStatements = await upkeepStatements(superuserURL: stack.databaseURL)
            for fraction in [0.25, 0.5, 0.75, 0.9] where maximum.isFinite && maximum > 0 {
                let rate = maximum * fraction
                // Each point as many times as the closed-loop runs, alternating with pgbench at
                // the same rate: one run's p99 is one draw of a noisy tail.
                var runs: [BenchResults.SweepPoint] = []
                for run in 1...max(1, options.runs) {
                    let label = "\(Int(fraction * 100))%"
                    Console.line("vehicles.list open model at \(label) of max: \(Int(rate)) req/s, run \(run)/\(max(1, options.runs))...")
                    let (point, error) = await sweepRun(label, rate: rate, workload: workload, sqlScript: sqlScript,
                                                        superuserURL: stack.databaseURL, upkeepStatements: upkeepStatements,
                                                        vehiclesURL: vehiclesURL,
                                                        processes: processes, work: work)
                    if let error { results.errors.append(error) }
                    runs.append(point)
                }
                if let point = BenchResults.SweepPoint.medianRun(of: runs) { results.sweep.append(point) }
            }
        }

        // 6. One statement through the database client vs pgbench, and a thread-pool hand-off alone.
        do {
            results.databaseHop = try await databaseHop(databaseURL: vehiclesURL, work: work)
        } catch {
            results.errors.append("database client: \(error)")
        }

        // 7. Idle RSS and start-to-ready per executable.
        for identity in ["gateway", "users", "vehicles", "rides"] {
            let rss = idleRSS.filter { $0.key.hasSuffix("/\(identity)") }.sorted { $0.key < $1.key }.map(\.value)
            var ready: Double?
            do {
                ready = try await readyTime(identity: identity, stack: stack, stackDirectory: stackDirectory, work: work)
            } catch {
                results.errors.append("start-to-ready of movr-\(identity): \(error)")
            }
            results.footprints.append(BenchResults.Footprint(executable: identity, residentKilobytes: rss, readySeconds: ready))
        }

        // 8. The first burst after a restart of the primary region (last: it replaces executables).
        if let rate = results.sweep.first?.rate {
            if options.stackFile != nil {
                results.restartNote = "Not measured: it restarts executables, and this stack was given with `--stack`."
            } else {
                do {
                    results.restart = try await restartBursts(stack: stack, processes: processes, client: client,
                                                              cities: cities, rate: rate)
                } catch {
                    results.errors.append("first burst after a restart: \(error)")
                }
            }
        }

        let markdown = results.markdown
        Console.line(markdown)
        let data = try JSONEncoder.benchReport.encode(results)
        try data.write(to: URL(fileURLWithPath: options.reportPath))
        Console.line("JSON report written to \(options.reportPath)")
        if let path = options.markdownPath {
            try BenchStack.appendSection(markdown, to: path)
        }
        if results.totalErrors > 0 || !results.errors.isEmpty {
            Console.line("ERRORS: \(results.totalErrors) failed requests; \(results.errors.joined(separator: "; "))")
        }
        try? FileManager.default.removeItem(atPath: work + "/pgbench-logs")
        return markdown
    }

    static func sweepPoint(_ label: String, rate: Double, report: LoadReport, operation: LoadOperation)
        -> BenchResults.SweepPoint {
        let stats = report.operation(operation)
        return BenchResults.SweepPoint(label: label, rate: rate, achieved: stats?.opsPerSecond ?? 0,
                                       p50Ms: stats?.p50Ms ?? 0, p99Ms: stats?.p99Ms ?? 0, maxMs: stats?.maxMs ?? 0,
                                       errors: stats?.errors ?? 0, late: report.totals.late, unsent: report.totals.unsent,
                                       slowByTenth: report.slowByTenth)
    }

    func databaseURL(_ url: String, _ name: String) -> String {
        var components = URLComponents(string: url)
        components?.path = "/" + name
        return components?.string ?? url
    }

    // MARK: Stack

    private func startStack(directory: String) async throws -> (BackgroundProcess, String) {
        try await BenchStack.start(directory: directory, portBase: 18440,
                                   arguments: options.dbPoolSize > 0 ? ["--db-pool-size", "\(options.dbPoolSize)"] : [])
    }

    // MARK: pgbench

    /// The store's own statement; only the two binds are pgbench expressions (the city picked
    /// by index, like wrk rotates X-City).
    func writeListPgbenchScript(directory: String, cities: [String], limit: Int) throws -> String {
        let sql = VehiclesStore.firstPageQuery(city: "", limit: limit).sql
        let cityList = cities.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ",")
        let statement = sql
            .replacingOccurrences(of: "$1", with: "(ARRAY[\(cityList)])[:n]")
            .replacingOccurrences(of: "$2", with: ":rows")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        let script = "\\set n random(1, \(cities.count))\n\\set rows \(limit + 1)\n\(statement);\n"
        let path = directory + "/vehicles-list-\(limit).sql"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs a load tool to completion and returns its output (kept in `log` for inspection).
    func runTool(_ arguments: [String], log: String) async throws -> String {
        try? FileManager.default.removeItem(atPath: log)
        let status = try await ToolProcess.run(arguments, outputPath: log)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard status == 0 else { throw StackError("\(arguments[0]) failed (\(status)); see \(log)") }
        return text
    }

    /// pgbench `-M prepared` (or `queryMode`), per-transaction log for p50/p99 and `-r` per-statement latencies.
    /// With `rate`, pgbench's own open model (`-R`): transactions scheduled at that total rate,
    /// latencies from the scheduled start. It runs for `seconds` (default: the bench's), or for
    /// `transactions` per client.
    func pgbench(script: String, databaseURL: String, clients: Int, work: String, name: String,
                 defines: [String: String] = [:], seconds: Int? = nil, rate: Double? = nil, transactions: Int? = nil,
                 queryMode: PgbenchQueryMode = .prepared)
        async throws -> (run: BenchResults.Run, output: BenchParse.PgbenchOutput, latencies: [Double]) {
        let logs = work + "/pgbench-logs"
        try? FileManager.default.removeItem(atPath: logs)
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        var arguments = ["/usr/bin/pgbench", "-n", "-M", queryMode.rawValue, "-c", "\(clients)", "-j", "\(min(2, clients))",
                         "-r", "-l", "--log-prefix=\(logs)/tx", "-f", script]
        arguments += transactions.map { ["-t", "\($0)"] } ?? ["-T", "\(seconds ?? options.seconds)"]
        if let rate { arguments += ["-R", String(format: "%.1f", rate)] }
        for (key, value) in defines.sorted(by: { $0.key < $1.key }) { arguments += ["-D", "\(key)=\(value)"] }
        arguments.append(databaseURL)
        let log = work + "/pgbench-\(name).log"
        let text = try await runTool(arguments, log: log)
        guard let output = BenchParse.pgbench(text) else { throw StackError("pgbench printed no throughput; see \(log)") }
        var latencies: [Double] = []
        for file in (try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? [] {
            latencies += BenchParse.pgbenchTransactionLatencies(
                (try? String(contentsOfFile: logs + "/" + file, encoding: .utf8)) ?? "")
        }
        let run = BenchResults.Run(throughput: output.tps,
                                   p50Ms: latencies.isEmpty ? nil : BenchParse.percentile(latencies, 50),
                                   p99Ms: latencies.isEmpty ? nil : BenchParse.percentile(latencies, 99),
                                   errors: output.failed, requests: output.transactions)
        return (run, output, latencies)
    }

    // MARK: wrk

    func writeWrkScript(directory: String, cities: [String], limit: Int) throws -> String {
        let list = cities.map { "\"\($0)\"" }.joined(separator: ", ")
        let script = """
            -- vehicles.list through the gateway, rotating X-City over every city of the map.
            local cities = { \(list) }
            local body = '{"jsonrpc":"2.0","id":1,"method":"vehicles.list","params":{"limit":\(limit)}}'
            local counter = 0
            local threads = {}
            setup = function(thread) table.insert(threads, thread) end
            init = function(args) rpc_errors = 0 end
            request = function()
              counter = counter + 1
              local city = cities[(counter % #cities) + 1]
              return wrk.format("POST", "/rpc", { ["Content-Type"] = "application/json", ["X-City"] = city }, body)
            end
            response = function(status, headers, body)
              if status ~= 200 or string.find(body, '"error"', 1, true) then rpc_errors = rpc_errors + 1 end
            end
            done = function(summary, latency, requests)
              local total = 0
              for _, thread in ipairs(threads) do total = total + (thread:get("rpc_errors") or 0) end
              io.write(string.format("rpc_errors: %d\\n", total))
            end
            """
        let path = directory + "/vehicles-list-\(limit).lua"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func wrk(script: String, url: String, log: String) async throws -> BenchResults.Run {
        let text = try await runTool(
            ["/usr/bin/wrk", "-t", "2", "-c", "\(options.connections)", "-d", "\(options.seconds)s", "--latency",
             "-s", script, url], log: log)
        guard let output = BenchParse.wrk(text) else { throw StackError("wrk printed no throughput; see \(log)") }
        return BenchResults.Run(throughput: output.requestsPerSecond, p50Ms: output.p50Ms, p99Ms: output.p99Ms,
                                errors: output.errors, requests: output.requests)
    }
}

extension JSONEncoder {
    static var benchReport: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }
}
