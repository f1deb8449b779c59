import Foundation
import Logging
import MovRAPI
import MovRLocality
import MovRPostgres
import MovRVehicles

/// `movr bench`: the hot path (first page of a city's available vehicles) measured two ways in
/// the same run — pgbench running the exact SQL against the database, and wrk sending the
/// JSON-RPC call through a gateway (HTTPS -> gateway -> mutual TLS -> vehicles -> libpq) — with
/// the same number of concurrent clients. Runs alternate; medians and their ratio are reported,
/// never a single absolute time (the machine is shared and noisy).
public struct Benchmark: Sendable {
    public struct Options: Sendable {
        public var seconds = 10
        public var connections = 16
        public var runs = 3
        public var limit = 25
        /// Use this running stack; otherwise `movr up` starts a private one for the run.
        public var stackFile: String?
        public var reportPath = ".movr/bench-report.json"
        public init() {}
    }

    public struct Sample: Codable, Sendable {
        public var tool: String
        public var throughput: Double
        public var p50Milliseconds: Double?
        public var p99Milliseconds: Double?
        public var errors: Int
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func run() async throws {
        for tool in ["/usr/bin/pgbench", "/usr/bin/wrk"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw StackError("\(tool) not found (make bench installs postgresql and wrk)")
        }
        let work = FileManager.default.currentDirectoryPath + "/.movr/bench"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var upPID: pid_t?
        let stackPath: String
        if let given = options.stackFile {
            stackPath = given
        } else {
            let (pid, path) = try await startStack(directory: work + "/stack")
            upPID = pid
            stackPath = path
        }
        defer {
            if let upPID {
                kill(upPID, SIGTERM)
                _ = Subprocess.wait(upPID)
            }
        }
        let stack = try StackFile.load(stackPath)
        let locality = try Locality.loadDefault()
        let gateway = try stack.topology.url(of: .gateway, in: stack.primaryRegion)
        let cities = locality.cities.map(\.name)

        // The operation must really succeed through the gateway before it is timed.
        let client = try stack.gatewayClient(logger: logger)
        let probe = try await client.call("vehicles.list", VehiclesListParams(city: cities[0], limit: options.limit),
                                          as: VehiclesListResult.self)
        await client.shutdown()
        guard !probe.vehicles.isEmpty else { throw StackError("no vehicles to list; load demo data first") }

        let pgbenchScript = try writePgbenchScript(directory: work, cities: cities)
        let wrkScript = try writeWrkScript(directory: work, cities: cities)
        var database = URLComponents(string: stack.databaseURL)
        database?.path = "/movr_vehicles"
        let databaseURL = database?.string ?? stack.databaseURL

        var samples: [Sample] = []
        for run in 1...options.runs {
            Console.line("run \(run)/\(options.runs): pgbench (SQL only)...")
            samples.append(try pgbench(script: pgbenchScript, databaseURL: databaseURL, log: work + "/pgbench.log"))
            Console.line("run \(run)/\(options.runs): wrk -> gateway (full path)...")
            samples.append(try wrk(script: wrkScript, url: gateway, log: work + "/wrk.log"))
        }
        let report = Self.summarize(samples, options: options)
        Console.line(report.text)
        let data = try JSONSerialization.data(withJSONObject: report.json, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: options.reportPath))
        Console.line("report written to \(options.reportPath)")
    }

    // MARK: Stack

    private func startStack(directory: String) async throws -> (pid_t, String) {
        let log = directory + ".log"
        try? FileManager.default.removeItem(atPath: log)
        let movr = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let pid = try Subprocess.spawn([movr, "up", "--dir", directory, "--port-base", "18440", "--exit-with-parent",
                                        "--log-level", "warning"], outputPath: log)
        Console.line("starting a private stack for the benchmark (log: \(log))...")
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("Press Ctrl-C to stop.") {
                return (pid, directory + "/stack.json")
            }
            if let status = Subprocess.exitStatus(pid) {
                throw StackError("movr up exited with \(status); see \(log)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        kill(pid, SIGTERM)
        throw StackError("the stack did not start within 600 s; see \(log)")
    }

    // MARK: pgbench

    /// The store's own statement; only the two binds are pgbench expressions (the city picked
    /// by index, like wrk rotates X-City).
    private func writePgbenchScript(directory: String, cities: [String]) throws -> String {
        let sql = VehiclesStore.firstPageQuery(city: "", limit: options.limit).sql
        let cityList = cities.map { "'\($0.replacingOccurrences(of: "'", with: "''"))'" }.joined(separator: ",")
        let statement = sql
            .replacingOccurrences(of: "$1", with: "(ARRAY[\(cityList)])[:n]")
            .replacingOccurrences(of: "$2", with: ":rows")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        let script = "\\set n random(1, \(cities.count))\n\\set rows \(options.limit + 1)\n\(statement);\n"
        let path = directory + "/vehicles-list.sql"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs a load tool to completion and returns its output (kept in `log` for inspection).
    private func runTool(_ arguments: [String], log: String) throws -> String {
        try? FileManager.default.removeItem(atPath: log)
        let status = try Subprocess.run(arguments, outputPath: log)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard status == 0 else { throw StackError("\(arguments[0]) failed (\(status)); see \(log)") }
        return text
    }

    private func pgbench(script: String, databaseURL: String, log: String) throws -> Sample {
        let text = try runTool(
            ["/usr/bin/pgbench", "-n", "-M", "prepared", "-c", "\(options.connections)", "-j", "2",
             "-T", "\(options.seconds)", "-f", script, databaseURL], log: log)
        guard let tps = Self.number(after: "tps = ", in: text) else {
            throw StackError("pgbench printed no throughput; see \(log)")
        }
        let failed = Int(Self.number(after: "number of failed transactions: ", in: text) ?? 0)
        return Sample(tool: "pgbench", throughput: tps,
                      p50Milliseconds: nil, p99Milliseconds: nil, errors: failed)
    }

    // MARK: wrk

    private func writeWrkScript(directory: String, cities: [String]) throws -> String {
        let list = cities.map { "\"\($0)\"" }.joined(separator: ", ")
        let script = """
            -- vehicles.list through the gateway, rotating X-City over every city of the map.
            local cities = { \(list) }
            local body = '{"jsonrpc":"2.0","id":1,"method":"vehicles.list","params":{"limit":\(options.limit)}}'
            local counter = 0
            request = function()
              counter = counter + 1
              local city = cities[(counter % #cities) + 1]
              return wrk.format("POST", "/rpc", { ["Content-Type"] = "application/json", ["X-City"] = city }, body)
            end
            response = function(status, headers, body)
              if status ~= 200 or string.find(body, '"error"', 1, true) then
                wrk.thread:set("rpc_errors", (wrk.thread:get("rpc_errors") or 0) + 1)
              end
            end
            """
        let path = directory + "/vehicles-list.lua"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func wrk(script: String, url: String, log: String) throws -> Sample {
        let text = try runTool(
            ["/usr/bin/wrk", "-t", "2", "-c", "\(options.connections)", "-d", "\(options.seconds)s", "--latency",
             "-s", script, url], log: log)
        guard let rps = Self.number(after: "Requests/sec:", in: text) else {
            throw StackError("wrk printed no throughput; see \(log)")
        }
        let errors = Int(Self.number(after: "Non-2xx or 3xx responses:", in: text) ?? 0)
            + Int(Self.number(after: "Socket errors: connect ", in: text) ?? 0)
        return Sample(tool: "gateway", throughput: rps, p50Milliseconds: Self.latency("50%", in: text),
                      p99Milliseconds: Self.latency("99%", in: text), errors: errors)
    }

    // MARK: Parsing and summary

    static func number(after marker: String, in text: String) -> Double? {
        guard let range = text.range(of: marker) else { return nil }
        let rest = text[range.upperBound...].drop(while: { $0 == " " || $0 == "\t" })
        return Double(rest.prefix(while: { $0.isNumber || $0 == "." }))
    }

    /// wrk prints latencies like `50%  1.23ms`, `99%  12.00ms`, `99%  1.02s`, `50%  950.00us`.
    static func latency(_ percentile: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 2, fields[0] == percentile else { continue }
            let value = String(fields[1])
            for (unit, factor) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where value.hasSuffix(unit) {
                return Double(value.dropLast(unit.count)).map { $0 * factor }
            }
        }
        return nil
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func summarize(_ samples: [Sample], options: Options) -> (text: String, json: [String: Any]) {
        let sql = samples.filter { $0.tool == "pgbench" }
        let gateway = samples.filter { $0.tool == "gateway" }
        let sqlMedian = median(sql.map(\.throughput))
        let gatewayMedian = median(gateway.map(\.throughput))
        let ratio = sqlMedian > 0 ? gatewayMedian / sqlMedian : 0
        let p50 = median(gateway.compactMap(\.p50Milliseconds))
        let p99 = median(gateway.compactMap(\.p99Milliseconds))
        let errors = samples.reduce(0) { $0 + $1.errors }
        let text = """
            vehicles.list (limit \(options.limit)), \(options.connections) concurrent clients, \(options.runs) x \(options.seconds) s each, alternating
              pgbench, same SQL on movr_vehicles:  median \(String(format: "%.0f", sqlMedian)) ops/s  (runs: \(sql.map { String(format: "%.0f", $0.throughput) }.joined(separator: ", ")))
              wrk -> gateway -> vehicles -> libpq: median \(String(format: "%.0f", gatewayMedian)) ops/s  (runs: \(gateway.map { String(format: "%.0f", $0.throughput) }.joined(separator: ", ")))
              ratio gateway / SQL: \(String(format: "%.2f", ratio))   gateway latency medians p50 \(String(format: "%.1f", p50)) ms, p99 \(String(format: "%.1f", p99)) ms   errors: \(errors)
            """
        let json: [String: Any] = [
            "operation": "vehicles.list", "limit": options.limit, "connections": options.connections,
            "seconds": options.seconds, "runs": options.runs,
            "pgbench_ops_per_second": sql.map(\.throughput), "gateway_ops_per_second": gateway.map(\.throughput),
            "median_pgbench": sqlMedian, "median_gateway": gatewayMedian, "ratio_gateway_to_sql": ratio,
            "gateway_p50_ms_median": p50, "gateway_p99_ms_median": p99, "errors": errors,
            "date": RFC3339.string(from: Date()),
        ]
        return (text, json)
    }
}
