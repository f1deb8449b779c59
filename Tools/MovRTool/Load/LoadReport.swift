import Foundation
import MovRAPI

/// The result of a load run: per-operation latency and outcomes, totals and the configuration,
/// printable as a table and encodable as the `--json` report.
public struct LoadReport: Codable, Sendable {
    public struct OperationStats: Codable, Sendable {
        public var operation: String
        public var count: Int
        public var errors: Int
        public var expected: Int
        public var opsPerSecond: Double
        public var p50Ms: Double
        public var p90Ms: Double
        public var p99Ms: Double
        public var p999Ms: Double
        public var maxMs: Double
        public var meanMs: Double
    }

    public struct OutcomeCount: Codable, Sendable {
        public var operation: String
        /// JSON-RPC `code reason` (e.g. `409 vehicle_unavailable`) or `transport: ...`.
        public var kind: String
        public var count: Int
        /// A domain answer the workload provokes by design, not a failure.
        public var expected: Bool
    }

    public struct Totals: Codable, Sendable {
        public var count: Int
        public var errors: Int
        public var expected: Int
        public var opsPerSecond: Double
        /// Open model: requests sent later than `late_threshold_ms` after their intended time.
        public var late: Int
        /// Open model: requests due before the end that never went out (all workers busy).
        public var unsent: Int
        public var scheduled: Int?
    }

    public var startTime: String
    public var elapsedSeconds: Double
    public var configuration: LoadConfiguration
    public var operations: [OperationStats]
    public var outcomes: [OutcomeCount]
    public var totals: Totals
    public var notes: [String]
    /// With ``LoadConfiguration/slowThresholdMs``: the requests slower than it, per tenth of a
    /// second of their intended send time from the run's start (trailing quiet tenths omitted).
    public var slowByTenth: [Int]?

    public func operation(_ operation: LoadOperation) -> OperationStats? {
        operations.first { $0.operation == operation.rawValue }
    }

    /// Errors only (expected domain outcomes excluded).
    public var errors: [OutcomeCount] { outcomes.filter { !$0.expected } }

    init(recorder: LoadRecorder, configuration: LoadConfiguration, start: Date, elapsed: Duration, unsent: Int,
         scheduled: Int?, notes: [String]) {
        let state = recorder.snapshot()
        let seconds = max(elapsed.inSeconds, 1e-9)
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
        operations = state.operations.sorted { $0.key < $1.key }.map { operation, tally in
            let histogram = tally.histogram
            return OperationStats(
                operation: operation.rawValue, count: Int(histogram.totalCount), errors: tally.errors,
                expected: tally.expected, opsPerSecond: Double(histogram.totalCount) / seconds,
                p50Ms: ms(histogram.valueAtPercentile(50)), p90Ms: ms(histogram.valueAtPercentile(90)),
                p99Ms: ms(histogram.valueAtPercentile(99)), p999Ms: ms(histogram.valueAtPercentile(99.9)),
                maxMs: ms(histogram.max), meanMs: histogram.mean / 1000)
        }
        outcomes = state.outcomes.map { key, count in
            OutcomeCount(operation: key.operation.rawValue, kind: key.kind, count: count, expected: key.expected)
        }.sorted { ($0.expected ? 1 : 0, $0.operation, $0.kind) < ($1.expected ? 1 : 0, $1.operation, $1.kind) }
        totals = Totals(count: state.total, errors: state.errors, expected: state.expected,
                        opsPerSecond: Double(state.total) / seconds, late: state.late, unsent: unsent,
                        scheduled: scheduled)
        startTime = RFC3339.string(from: start)
        elapsedSeconds = seconds
        self.configuration = configuration
        self.notes = notes + Self.hints(for: outcomes)
        slowByTenth = configuration.slowThresholdMs == nil ? nil : state.slowByTenth
    }

    /// What an error usually means, when the tool can tell: an account of the users file that
    /// cannot sign in is one this stack does not have (its file was made for another stack).
    static func hints(for outcomes: [OutcomeCount]) -> [String] {
        guard let refused = outcomes.first(where: {
            !$0.expected && $0.operation == LoadOperation.authLogin.rawValue && $0.kind == "401 invalid_credentials"
        }) else { return [] }
        return ["auth.login was refused \(refused.count) time(s) with invalid_credentials: accounts of the users file "
            + "that this stack does not have, or no longer has (was the file made for another stack? `movr load init "
            + "--fresh` starts a new one)"]
    }

    /// The end-of-run table.
    public var text: String {
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + padding : padding + text
        }
        func number(_ value: Double) -> String { String(format: value >= 100 ? "%.0f" : "%.1f", value) }
        var lines: [String] = []
        let model = configuration.rate.map { "open model, \(number($0)) req/s" } ?? "closed loop"
        lines.append("\(String(format: "%.1f", elapsedSeconds)) s, \(model), concurrency \(configuration.concurrency)")
        let header = [pad("operation", 22, left: true), pad("count", 8), pad("ops/s", 8), pad("p50", 8), pad("p90", 8),
                      pad("p99", 8), pad("p99.9", 8), pad("max", 8), pad("errors", 7), pad("expected", 9)]
        lines.append(header.joined(separator: " ") + "   (latency in ms)")
        for stats in operations {
            lines.append([pad(stats.operation, 22, left: true), pad("\(stats.count)", 8), pad(number(stats.opsPerSecond), 8),
                          pad(number(stats.p50Ms), 8), pad(number(stats.p90Ms), 8), pad(number(stats.p99Ms), 8),
                          pad(number(stats.p999Ms), 8), pad(number(stats.maxMs), 8), pad("\(stats.errors)", 7),
                          pad("\(stats.expected)", 9)].joined(separator: " "))
        }
        lines.append([pad("total", 22, left: true), pad("\(totals.count)", 8), pad(number(totals.opsPerSecond), 8)]
            .joined(separator: " ") + String(repeating: " ", count: 45)
            + [pad("\(totals.errors)", 7), pad("\(totals.expected)", 9)].joined(separator: " "))
        if configuration.rate != nil {
            lines.append("not sent on time: \(totals.late) late (> \(number(configuration.lateThresholdMs)) ms), "
                + "\(totals.unsent) never sent of \(totals.scheduled ?? 0) scheduled")
        }
        for outcome in outcomes {
            lines.append("  \(outcome.expected ? "expected" : "error   ") \(outcome.operation): \(outcome.kind) x\(outcome.count)")
        }
        for note in notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }
}
