import ArgumentParser
import Foundation

extension MovRCommand {
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
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

        func run() async throws {
            var options = Benchmark.Options()
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
}
