import ArgumentParser
import Foundation
import MovRServiceDatabase

extension MovRCommand {
    /// `movr bench` (= `movr bench gateway`) and `movr bench locality`. The group has no
    /// options of its own: ArgumentParser would give a parent's option to the parent even when
    /// written after the subcommand's name.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Benchmarks: the request path against pgbench (default), or the cost of distance (locality).",
            subcommands: [GatewayCommand.self, LocalityCommand.self], defaultSubcommand: GatewayCommand.self)
    }

    struct GatewayCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gateway",
            abstract: "Measure the gateway against pgbench on the same SQL (vehicles.list, ride cycle), CPU per request, latencies, RSS; append a dated report to docs/benchmarks.md.")

        @Option(help: "Seconds per run.")
        var seconds = 10
        @Option(help: "Concurrent clients for every tool.")
        var connections = 16
        @Option(help: "Runs of each tool (alternating).")
        var runs = 3
        @Flag(help: "Short smoke run (2 s, one run, 20 single-client calls): checks that everything works, measures nothing.")
        var quick = false
        @Option(help: "Stack file of a running stack (default: start a private one). The ride cycle's pgbench writes synthetic rides into its databases: use a throwaway stack.")
        var stack: String?
        @Option(help: "Where to write the JSON report.")
        var report = ".movr/bench-report.json"
        @Option(help: "Markdown file the dated report section is appended to ('' = none).")
        var markdown = "docs/benchmarks.md"
        @Option(help: "Database connections per service process of the private stack (0: the services' default, 8).")
        var dbPoolSize = 0

        func validate() throws {
            guard (0...DatabaseSettings.maxPoolSize).contains(dbPoolSize) else {
                throw ValidationError("--db-pool-size must be 0 (the services' default) to \(DatabaseSettings.maxPoolSize)")
            }
            guard dbPoolSize == 0 || stack == nil else {
                throw ValidationError("--db-pool-size sizes the private stack; a stack given with --stack keeps its own")
            }
        }

        func run() async throws {
            var options = Benchmark.Options()
            options.dbPoolSize = dbPoolSize
            options.seconds = seconds
            options.connections = connections
            options.runs = runs
            options.quick = quick
            options.stackFile = stack
            options.reportPath = report
            options.markdownPath = markdown.isEmpty ? nil : markdown
            options.command = (["movr"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
            try await Benchmark(options: options, logger: MovRCommand.logger()).run()
        }
    }

    struct LocalityCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "locality",
            abstract: "With the WAN simulator: p50/p99 of vehicles.list, a ride cycle and users.me from each region's gateway for a local and a remote city, with and without home-region routing and standbys; append the table to docs/benchmarks.md.")

        @Option(help: "Sequential calls per operation and cell.")
        var samples = 20
        @Flag(help: "Three calls per cell: checks that everything works, measures little.")
        var quick = false
        @Option(help: "Markdown file the table is appended to ('' = none).")
        var markdown = "docs/benchmarks.md"
        @Option(help: "Port base of the private stacks.")
        var portBase = 18440

        func run() async throws {
            guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
            var options = LocalityBenchmark.Options()
            options.samples = samples
            options.quick = quick
            options.markdownPath = markdown.isEmpty ? nil : markdown
            options.portBase = portBase
            options.command = (["movr"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
            try await LocalityBenchmark(options: options, logger: MovRCommand.logger()).run()
        }
    }
}
