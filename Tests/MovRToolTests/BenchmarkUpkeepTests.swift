import Testing
@testable import MovRTool

/// The database upkeep the bench counts beside each sweep point and pays after the ride cycle.
@Suite struct BenchmarkUpkeepTests {
    @Test func statementsReadTheCheckpointerOfTheServersVersionThenEachDatabase() {
        let old = DatabaseUpkeep.statements(serverVersion: 150_018, databases: ["movr_users", "movr_rides"])
        #expect(old.first == "SELECT checkpoints_timed + checkpoints_req, buffers_checkpoint FROM pg_stat_bgwriter")
        #expect(Array(old.dropFirst()) == [
            "\\connect movr_users", "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_all_tables",
            "\\connect movr_rides", "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_all_tables",
        ])
        let new = DatabaseUpkeep.statements(serverVersion: 170_002, databases: ["movr_users"])
        #expect(new.first == "SELECT num_timed + num_requested, buffers_written FROM pg_stat_checkpointer")
    }

    @Test func parsesPsqlsOutputAndSubtracts() throws {
        let before = try #require(DatabaseUpkeep.parse(["18|17425", "1", "5", "0", ""], databases: 3))
        #expect(before == DatabaseUpkeep(checkpointBuffers: 17425, checkpoints: 18, autovacuums: 6))
        let after = try #require(DatabaseUpkeep.parse(["19|21635", "1", "7", "1"], databases: 3))
        let during = after - before
        #expect(during == DatabaseUpkeep(checkpointBuffers: 4210, checkpoints: 1, autovacuums: 3))
        #expect(during.summary == "1 / 4210 / 3")
    }

    @Test func refusesOutputItDoesNotUnderstand() {
        #expect(DatabaseUpkeep.parse(["18|17425", "1", "5"], databases: 3) == nil, "a database's count missing")
        #expect(DatabaseUpkeep.parse(["18", "1", "5", "0"], databases: 3) == nil, "the checkpointer's line has two fields")
        #expect(DatabaseUpkeep.parse(["18|x", "1", "5", "0"], databases: 3) == nil)
        #expect(DatabaseUpkeep.parse(["18|17425", "1", "ERROR", "0"], databases: 3) == nil)
    }

    @Test func theSweepSaysWhatTheBenchSettledAndCountsUpkeepPerPoint() {
        var results = BenchResults(date: "2026-12-05T12:00:00Z", command: "movr bench", machine: "test", commit: "abc",
                                   connections: 16, seconds: 10, runs: 3, quick: false)
        var point = BenchResults.SweepPoint(label: "50%", rate: 300, achieved: 300, p50Ms: 1, p99Ms: 4, maxMs: 9,
                                            errors: 0, late: 0, unsent: 0)
        point.upkeep = DatabaseUpkeep(checkpointBuffers: 4210, checkpoints: 1, autovacuums: 2)
        results.sweep = [point]
        #expect(results.markdown.contains("database upkeep: checkpoints / buffers written / autovacuums |"))
        #expect(results.markdown.contains("| 1 / 4210 / 2 |"))
        #expect(results.markdown.contains("`CHECKPOINT`: not run in this report."))

        results.settle = BenchResults.Settle(seconds: 2.34)
        #expect(results.markdown.contains("a `CHECKPOINT` (2.3 s), as pgbench vacuums before its own runs"))
        results.settle = BenchResults.Settle(failure: "psql failed (1): must be superuser")
        #expect(results.markdown.contains("it failed (psql failed (1): must be superuser), so a timed checkpoint"))
    }
}
