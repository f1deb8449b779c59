import Foundation

/// PostgreSQL's own upkeep: checkpoints writing dirty pages, autovacuum and autoanalyze.
/// Counted before and after each sweep point, so the report shows when the database's
/// maintenance ran beside a point; and paid once after the ride cycle's writes
/// (``Benchmark/settleDatabase(superuserURL:)``), so the read-only phases after it do not
/// inherit that phase's debt.
struct DatabaseUpkeep: Codable, Sendable, Equatable {
    /// Buffers the checkpointer wrote (it reports them while a spread checkpoint runs).
    var checkpointBuffers: Int
    /// Checkpoints counted (timed and requested).
    var checkpoints: Int
    /// Autovacuum and autoanalyze runs finished, over MovR's three databases.
    var autovacuums: Int

    static func - (after: DatabaseUpkeep, before: DatabaseUpkeep) -> DatabaseUpkeep {
        DatabaseUpkeep(checkpointBuffers: after.checkpointBuffers - before.checkpointBuffers,
                       checkpoints: after.checkpoints - before.checkpoints,
                       autovacuums: after.autovacuums - before.autovacuums)
    }

    /// "1 / 4 210 / 2": checkpoints / buffers they wrote / autovacuum and autoanalyze runs.
    var summary: String {
        "\(checkpoints) / \(checkpointBuffers) / \(autovacuums)"
    }

    /// The statements that read the counters, in order: the checkpointer's two (its view is
    /// `pg_stat_checkpointer` from PostgreSQL 17, `pg_stat_bgwriter` before), then one
    /// autovacuum count per database (psql's `\connect` between them).
    static func statements(serverVersion: Int, databases: [String]) -> [String] {
        var statements = serverVersion >= 170_000
            ? ["SELECT num_timed + num_requested, buffers_written FROM pg_stat_checkpointer"]
            : ["SELECT checkpoints_timed + checkpoints_req, buffers_checkpoint FROM pg_stat_bgwriter"]
        for database in databases {
            statements.append("\\connect \(database)")
            statements.append("SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_all_tables")
        }
        return statements
    }

    /// Parses psql's unaligned output of ``statements(serverVersion:databases:)``: the
    /// checkpointer's line (`checkpoints|buffers`), then one count per database.
    static func parse(_ lines: [String], databases: Int) -> DatabaseUpkeep? {
        let rows = lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard rows.count == 1 + databases else { return nil }
        let checkpointer = rows[0].split(separator: "|").map { Int($0) }
        guard checkpointer.count == 2, let checkpoints = checkpointer[0], let buffers = checkpointer[1] else { return nil }
        var autovacuums = 0
        for row in rows.dropFirst() {
            guard let count = Int(row) else { return nil }
            autovacuums += count
        }
        return DatabaseUpkeep(checkpointBuffers: buffers, checkpoints: checkpoints, autovacuums: autovacuums)
    }
}

extension BenchResults {
    /// What the bench did after the ride cycle's writes, before the read-only phases.
    struct Settle: Codable, Sendable {
        var seconds: Double?
        /// Why it did not run (no superuser on `--stack`, say); the phases after it then may
        /// share the cores with the database's upkeep, which each sweep point's counts show.
        var failure: String?
    }
}

extension Benchmark {
    static let upkeepDatabases = ["movr_users", "movr_rides", "movr_vehicles"]

    /// The statements that read the upkeep counters on this server (its version asked once);
    /// nil when it cannot be asked (then the report says "–").
    func upkeepStatements(superuserURL: String) async -> [String]? {
        guard let version = try? await psqlLines(superuserURL, "SHOW server_version_num").first.flatMap({ Int($0) })
        else { return nil }
        return DatabaseUpkeep.statements(serverVersion: version, databases: Self.upkeepDatabases)
    }

    /// The upkeep counters now (one psql session); nil when they cannot be read.
    func upkeepCounters(superuserURL: String, statements: [String]?) async -> DatabaseUpkeep? {
        guard let statements, let lines = try? await psqlLines(superuserURL, statements: statements) else { return nil }
        return DatabaseUpkeep.parse(lines, databases: Self.upkeepDatabases.count)
    }

    /// `VACUUM` in each of `databases`; nil when done, else what failed.
    func vacuum(superuserURL: String, databases: [String], analyze: Bool = false) async -> String? {
        do {
            for database in databases {
                try await psql(databaseURL(superuserURL, database), [analyze ? "VACUUM (ANALYZE)" : "VACUUM"])
            }
            return nil
        } catch {
            return "VACUUM: \(error)"
        }
    }

    /// Pays the ride cycle's upkeep before the read-only phases that follow it: `VACUUM
    /// (ANALYZE)` in each database (pgbench vacuums before its own runs for the same reason),
    /// then `CHECKPOINT`, which writes the dirty pages now instead of spreading them over the
    /// next minutes, where a timed checkpoint would otherwise write them beside the sweep.
    func settleDatabase(superuserURL: String) async -> BenchResults.Settle {
        let started = ContinuousClock.now
        if let failure = await vacuum(superuserURL: superuserURL, databases: Self.upkeepDatabases, analyze: true) {
            return BenchResults.Settle(failure: failure)
        }
        do {
            try await psql(superuserURL, ["CHECKPOINT"])
            return BenchResults.Settle(seconds: (ContinuousClock.now - started).inSeconds)
        } catch {
            return BenchResults.Settle(failure: "\(error)")
        }
    }
}

extension BenchResults {
    /// The sweep section's sentence on what the bench did between the ride cycle and the
    /// read-only phases.
    var settleSentence: String {
        let what = "After the ride cycle (whose runs write for about a minute) and before the single-client "
            + "latencies and this sweep, the bench runs `VACUUM (ANALYZE)` in each database and a `CHECKPOINT`"
        guard let settle else { return what + ": not run in this report." }
        if let failure = settle.failure {
            return what + ": it failed (\(failure)), so a timed checkpoint or autovacuum of the cycle's rows may run "
                + "beside the points; the upkeep column counts them."
        }
        let seconds = settle.seconds.map { String(format: "%.1f", $0) } ?? "–"
        return what + " (\(seconds) s), as pgbench vacuums before its own runs: the write phase pays its own upkeep "
            + "instead of leaving a spread checkpoint and autovacuums to run beside the points; the upkeep column "
            + "counts what still ran."
    }
}
