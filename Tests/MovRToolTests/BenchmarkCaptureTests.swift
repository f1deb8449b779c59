import Foundation
import Logging
@testable import MovRTool
import MovRTestSupport
import NIOConcurrencyHelpers
import Testing

/// `movr bench`'s capture of each method's statements from a real server log (a private
/// cluster: statement logging is turned on for the whole server while it runs): a method whose
/// captures disagree is captured again, and one that never agrees is reported with what each
/// capture had, not dropped.
@Suite struct BenchmarkCaptureTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/psql"), "needs psql"))
    func capturesThatDisagreeAreTakenAgain() async throws {
        let cluster = try await TestPostgres.makePrivateCluster()
        let work = NSTemporaryDirectory() + "movr-capture-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        do {
            try await cluster.createDatabase("movr_capture")
            let database = cluster.url(database: "movr_capture")
            let bench = Benchmark(options: Benchmark.Options(), logger: Logger(label: "movr.test.capture"))
            let sent = NIOLockedValueBox<[String: Int]>([:])
            let prepared = NIOLockedValueBox<[String: Int]>([:])
            // Sends the statement `sql(n)` for the method's n-th call (from 0).
            func call(_ method: String, _ sql: @escaping @Sendable (Int) -> String) -> Benchmark.MethodCall {
                Benchmark.MethodCall(method: method, prepare: { prepared.withLockedValue { $0[method, default: 0] += 1 } }) {
                    let n = sent.withLockedValue { sent in
                        defer { sent[method, default: 0] += 1 }
                        return sent[method, default: 0]
                    }
                    try await bench.psql(database, [sql(n)])
                    return [:]
                }
            }
            let captured = try await bench.captureMethods([
                call("steady") { _ in "SELECT 1 AS steady" },
                // The first round's three calls send three different statements; later ones the same.
                call("settles") { n in n < 3 ? "SELECT \(n) AS first_round" : "SELECT 'settled' AS later" },
                call("never") { n in "SELECT \(n) AS every_call_differs" },
            ], superuserURL: cluster.superuserURL, logPath: cluster.logFile, work: work)

            let steady = try #require(captured["steady"])
            #expect(steady.statements.map(\.sql) == ["SELECT 1 AS steady"] && steady.attempts == 1, "\(steady)")
            let settles = try #require(captured["settles"])
            #expect(settles.statements.map(\.sql) == ["SELECT 'settled' AS later"] && settles.attempts == 2)
            let never = try #require(captured["never"])
            #expect(never.disagrees && never.statements.isEmpty && never.counts == [1, 1, 1])
            #expect(never.attempts == Benchmark.methodCaptureAttempts)
            // Each capture was prepared first, and only the methods that disagreed were sent again.
            #expect(sent.withLockedValue { $0 } == ["steady": 3, "settles": 6, "never": 9])
            #expect(prepared.withLockedValue { $0 } == sent.withLockedValue { $0 })
            let log = try String(contentsOfFile: work + "/method-captures.log", encoding: .utf8)
            #expect(log.contains("== never, attempt 3, capture 3\n") && !log.contains("== steady, attempt 2"))

            // The report's row says why there is no figure.
            let latencies = try await bench.methodSQLLatencies(["never": never], order: ["never"],
                                                               superuserURL: cluster.superuserURL, work: work)
            #expect(latencies["never"]?.ms == nil)
            #expect(latencies["never"]?.source.hasPrefix("none measured: in 3 rounds of captures no statement was in every capture (the last round's had 1, 1, 1 ") == true)
            // Statement logging is off again.
            let setting = try await bench.psqlLines(cluster.superuserURL, "SHOW log_statement")
            #expect(setting == ["none"])
        } catch {
            await TestPostgres.stopPrivateCluster(cluster)
            throw error
        }
        await TestPostgres.stopPrivateCluster(cluster)
    }
}
