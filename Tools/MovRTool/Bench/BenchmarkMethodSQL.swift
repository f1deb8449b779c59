import Foundation
import MovRAPI
import MovRUUID

/// The statements one call of a public method sends, taken from the server log, so that the
/// single-client target of every method (its p50 <= 2x the one-client p50 of its statements +
/// 0.3 ms per hop) is judged against SQL the path really ran, as the ride cycle's is.
enum MethodSQL {
    /// The statements found in every capture of the same call, in the order of the first: a
    /// background statement (the outbox relay's poll, the reconciler, an acknowledgement pass)
    /// that happens to fall into one capture's window is not in the others. Only MovR's
    /// databases count (the markers run in `postgres`).
    static func common(_ captures: [[BenchParse.LoggedStatement]]) -> [BenchParse.LoggedStatement] {
        guard let first = captures.first else { return [] }
        var others = captures.dropFirst().map { $0.filter { $0.database.hasPrefix("movr_") } }
        var kept: [BenchParse.LoggedStatement] = []
        for statement in first where statement.database.hasPrefix("movr_") {
            let matches = others.map { capture in
                capture.firstIndex { $0.database == statement.database && $0.sql == statement.sql }
            }
            guard matches.allSatisfy({ $0 != nil }) else { continue }
            for (index, match) in matches.enumerated() { others[index].remove(at: match!) }
            kept.append(statement)
        }
        return kept
    }

    /// One pgbench script per database, in the order the databases were first used; each bind
    /// becomes a `-D` constant (`-M prepared` keeps it a bind): one client repeats the call's own
    /// statements with the call's own values.
    static func scripts(_ statements: [BenchParse.LoggedStatement], prefix: String)
        -> [(database: String, script: RideSQLScript.Script)] {
        var order: [String] = []
        for statement in statements where !order.contains(statement.database) { order.append(statement.database) }
        return order.enumerated().map { index, database in
            let own = statements.filter { $0.database == database }
            return (database, RideSQLScript.make(preamble: "", start: own, end: [], variables: [:],
                                                 prefix: "\(prefix)\(index)_", typesText: false))
        }
    }

    /// Service hops of each public method the single-client section times, the client's to
    /// the gateway included (docs/API.md, "Hops" counts those after the gateway): the signed-in
    /// ones add the session check in the users service.
    static let hops: [String: Int] = [
        "cities.list": 1,
        "users.me": 2, "vehicles.list": 2, "vehicles.get": 2, "promo_codes.list": 2,
        "rides.list": 3, "rides.get": 3,
        "rides.start": 4, "rides.update_location": 4, "rides.end": 4,
    ]
}

extension Benchmark {
    /// One call of a method to capture: what to send (each capture sends it again).
    struct MethodCall {
        var method: String
        var send: () async throws -> Void
    }

    /// What the captures of one method found.
    struct CapturedMethod {
        /// The statements every capture had (``MethodSQL/common(_:)``).
        var statements: [BenchParse.LoggedStatement]
        /// The fewest statements of MovR's databases one capture had: 0 means the method sends
        /// none of its own (what other captures had was background work).
        var fewest: Int
    }

    /// Captures the statements of each call (each `repeats` times, between marker statements,
    /// with `log_statement = all` turned on for the time it takes and reset afterwards). Every
    /// capture's log lines go to `method-captures.log` in `work`, to read what was dropped.
    func captureMethods(_ calls: [MethodCall], repeats: Int = 3, superuserURL: String,
                        logPath: String, work: String) async throws -> [String: CapturedMethod] {
        try await psql(superuserURL, [
            "ALTER SYSTEM SET log_statement = 'all'",
            "ALTER SYSTEM SET log_line_prefix = '%m [%p] %d '",
            "SELECT pg_reload_conf()",
        ])
        let reset = ["ALTER SYSTEM RESET log_statement", "ALTER SYSTEM RESET log_line_prefix", "SELECT pg_reload_conf()"]
        var log = ""
        do {
            try await Task.sleep(for: .milliseconds(300))
            for (index, call) in calls.enumerated() {
                for round in 0..<repeats {
                    try await psql(superuserURL, ["SELECT 'movr-bench-m\(index)r\(round)-start'"])
                    try await call.send()
                    try await psql(superuserURL, ["SELECT 'movr-bench-m\(index)r\(round)-end'"])
                }
            }
            try await psql(superuserURL, reset)
            log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        } catch {
            try? await psql(superuserURL, reset)
            throw error
        }
        var captured: [String: CapturedMethod] = [:]
        var windows = ""
        defer { try? windows.write(toFile: work + "/method-captures.log", atomically: true, encoding: .utf8) }
        for (index, call) in calls.enumerated() {
            var rounds: [[BenchParse.LoggedStatement]] = []
            for round in 0..<repeats {
                guard let window = Self.window(in: log, from: "movr-bench-m\(index)r\(round)-start",
                                               to: "movr-bench-m\(index)r\(round)-end") else {
                    throw StackError("the capture markers of \(call.method) are not in \(logPath)")
                }
                windows += "== \(call.method), capture \(round + 1)\n" + window
                rounds.append(BenchParse.loggedStatements(window))
            }
            captured[call.method] = CapturedMethod(
                statements: MethodSQL.common(rounds),
                fewest: rounds.map { $0.filter { $0.database.hasPrefix("movr_") }.count }.min() ?? 0)
        }
        return captured
    }

    /// The log lines strictly between the last line holding `start` and the line holding `end`
    /// after it.
    static func window(in log: String, from start: String, to end: String) -> String? {
        guard let startMarker = log.range(of: "'\(start)'", options: .backwards),
              let endMarker = log.range(of: "'\(end)'", range: startMarker.upperBound..<log.endIndex) else { return nil }
        let from = log[startMarker.upperBound...].firstIndex(of: "\n").map { log.index(after: $0) } ?? log.endIndex
        let to = log[..<endMarker.lowerBound].lastIndex(of: "\n").map { log.index(after: $0) } ?? log.startIndex
        return from <= to ? String(log[from..<to]) : ""
    }

    /// One-client p50 (ms) of each captured method's statements, and where it came from:
    /// pgbench `-c 1` on each database's script, the per-transaction p50s of the databases added
    /// up (a call runs them one after another); 0 for a method that sends none (a capture without
    /// any); none when the captures disagree (none common to all, though each had some).
    func methodSQLLatencies(_ captured: [String: CapturedMethod], superuserURL: String,
                            work: String) async throws -> [String: (ms: Double, source: String)] {
        var latencies: [String: (ms: Double, source: String)] = [:]
        for (index, method) in captured.keys.sorted().enumerated() {
            guard let capture = captured[method] else { continue }
            let statements = capture.statements
            guard !statements.isEmpty else {
                if capture.fewest == 0 { latencies[method] = (0, "none: a capture without any statement") }
                continue
            }
            var total = 0.0
            let scripts = MethodSQL.scripts(statements, prefix: "m\(index)_")
            for (database, script) in scripts {
                let path = work + "/method-\(method)-\(database).sql"
                try script.text.write(toFile: path, atomically: true, encoding: .utf8)
                let run = try await pgbench(script: path, databaseURL: databaseURL(superuserURL, database), clients: 1,
                                            work: work, name: "method-\(method)-\(database)", defines: script.defines,
                                            seconds: max(2, options.seconds / 4))
                guard run.run.errors == 0, let p50 = run.run.p50Ms else {
                    throw StackError("pgbench on \(method)'s statements in \(database) failed; see \(path)")
                }
                total += p50
            }
            let databases = scripts.map { entry in
                "\(statements.filter { $0.database == entry.database }.count) in \(entry.database)"
            }
            latencies[method] = (total, "pgbench -c 1 p50 of the captured statements (" + databases.joined(separator: ", ")
                + "), each database's added up")
        }
        return latencies
    }
}
