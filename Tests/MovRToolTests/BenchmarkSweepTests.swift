import Testing
@testable import MovRTool

/// A sweep point run several times: the report shows the run with the median p99.
@Suite struct BenchmarkSweepTests {
    func run(_ p99: Double, slow: Int) -> BenchResults.SweepPoint {
        var point = BenchResults.SweepPoint(label: "50%", rate: 3000, achieved: 3000, p50Ms: 0.7, p99Ms: p99, maxMs: p99 * 3,
                                            errors: 0, late: 0, unsent: 0)
        point.slowByTenth = [slow] + Array(repeating: 0, count: 99)
        return point
    }

    @Test func theMedianRunCarriesEveryRunsP99() throws {
        let point = try #require(BenchResults.SweepPoint.medianRun(of: [run(7.7, slow: 540), run(4.2, slow: 250),
                                                                        run(5.1, slow: 330)]))
        #expect(point.p99Ms == 5.1 && point.slowByTenth?.first == 330, "the rest of the row is the median run's")
        #expect(point.p99RunsMs == [7.7, 4.2, 5.1], "in the order they ran")
        #expect(BenchResults.SweepPoint.medianRun(of: [run(3, slow: 1), run(9, slow: 2)])?.p99Ms == 3, "the lower middle")
        #expect(BenchResults.SweepPoint.medianRun(of: [])?.p99Ms == nil)
    }

    @Test func theReportShowsTheRunsAndSaysWhichRowIsShown() throws {
        var results = BenchResults(date: "2026-12-05T12:00:00Z", command: "movr bench", machine: "test", commit: "abc",
                                   connections: 16, seconds: 10, runs: 3, quick: false)
        let half = try #require(BenchResults.SweepPoint.medianRun(of: [run(7.7, slow: 540), run(4.2, slow: 250),
                                                                       run(5.1, slow: 330)]))
        results.sweep = [half]
        let markdown = results.markdown
        #expect(markdown.contains("| 50% | 3000 | 3000 | 0.70 | 5.10 [7.70, 4.20, 5.10] | 15.30 |"))
        #expect(markdown.contains("Each point runs 3 times, each run followed by pgbench's at the same rate; a row is the run with the median p99"))
        #expect(results.bounds.contains { $0.hasPrefix("**vehicles.list p99 at half load: 5.10 ms** (the median of 3 runs: 7.70, 4.20, 5.10 ms; the rest is that run's): 330 requests over 5 ms") })
        // One run (a quick bench): no brackets, no sentence.
        results.runs = 1
        results.sweep = [run(5.1, slow: 330)]
        #expect(results.markdown.contains("| 50% | 3000 | 3000 | 0.70 | 5.10 | 15.30 |"))
        #expect(!results.markdown.contains("Each point runs"))
    }
}
