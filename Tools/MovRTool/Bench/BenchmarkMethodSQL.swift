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

    /// A value a write sent that must differ in every replayed transaction (a new row's key):
    /// pgbench draws a number per transaction (`\set`, no round trip) and the statement builds
    /// the value from it in place of the bind.
    enum Fresh: Equatable, Sendable {
        /// A uuid (`md5(n)::uuid`).
        case uuid
        /// Text: the prefix, then the number (a promo code `B123...`).
        case text(prefix: String)
        /// The key of a row the write changes, which must be live in each replayed
        /// transaction (`auth.logout` revokes a session, `vehicles.remove` removes a vehicle):
        /// the number is drawn from 1...count, and the bench adds that many copies of the
        /// captured call's row beforehand, each keyed by the value its number builds
        /// (``LiveRows``).
        case liveRow(LiveRows, count: Int)

        func expression(_ variable: String) -> String {
            switch self {
            case .uuid: return "md5(:\(variable)::text)::uuid"
            case .text(let prefix): return "('\(prefix)' || :\(variable)::text)"
            case .liveRow(let rows, _): return rows.key(":\(variable)::text")
            }
        }

        /// The largest number drawn (the smallest is 1).
        var largestDraw: Int {
            switch self {
            case .uuid, .text: return 9_000_000_000_000_000_000
            case .liveRow(_, let count): return count
            }
        }
    }

    /// Rows a replayed write changes for good (a revoked session, a removed vehicle): replaying
    /// the captured call's own row would find it changed already and write nothing, a lighter
    /// transaction than the call's. The bench adds `count` live copies of that row before the
    /// replay, each keyed by what ``key(_:)`` builds from its number, so each transaction
    /// changes a live one, as the call did; then it counts how many were changed and deletes
    /// them. With 100 rows per transaction, about one draw in 200 repeats an earlier one (a
    /// change that writes nothing), too few to move the p50.
    enum LiveRows: Equatable, Sendable {
        /// Sessions in movr_users (hash: `md5(n)` twice, as hex), live for an hour.
        case session
        /// Available vehicles in movr_vehicles (id: `md5(n)::uuid`), the captured one's copies.
        case vehicle

        var database: String { self == .session ? "movr_users" : "movr_vehicles" }
        /// What a replayed transaction does to one, and what the row is, for the report.
        var change: (verb: String, done: String, noun: String) {
            self == .session ? ("revokes", "revoked", "session") : ("removes", "removed", "vehicle")
        }

        /// The row's key (as the statement binds it: hex text, a uuid) built from a number.
        func key(_ number: String) -> String {
            switch self {
            case .session: return "(md5(\(number)) || md5(\(number)))"
            case .vehicle: return "md5(\(number))::uuid"
            }
        }

        /// The statements adding `count` copies of the row keyed `captured` (as the call bound
        /// it), counting those changed, and deleting them. Nil when `captured` is not such a
        /// key (64 lower-case hex digits, a uuid), so nothing else reaches a statement.
        func statements(copying captured: String, count: Int) -> LiveRowStatements? {
            let numbers = "generate_series(1, \(count)) AS n"
            switch self {
            case .session:
                guard captured.utf8.count == 64, captured.utf8.allSatisfy({ "0123456789abcdef".utf8.contains($0) }) else { return nil }
                let hash = "decode(\(key("n::text")), 'hex')"
                let added = "token_hash IN (SELECT \(hash) FROM \(numbers))"
                return LiveRowStatements(
                    add: """
                        INSERT INTO sessions (token_hash, user_id, expires_at)
                        SELECT \(hash), user_id, now() + interval '1 hour'
                        FROM sessions CROSS JOIN \(numbers)
                        WHERE token_hash = decode('\(captured)', 'hex')
                        ON CONFLICT (token_hash) DO UPDATE SET revoked_at = NULL, expires_at = excluded.expires_at
                        """,
                    countChanged: "SELECT count(*) FROM sessions WHERE \(added) AND revoked_at IS NOT NULL",
                    remove: "DELETE FROM sessions WHERE \(added)")
            case .vehicle:
                guard let id = UUID(uuidString: captured) else { return nil }
                let added = "id IN (SELECT \(key("n::text")) FROM \(numbers))"
                return LiveRowStatements(
                    add: """
                        INSERT INTO vehicles (id, city, region, type, owner_id, status, battery, latitude, longitude, color, brand)
                        SELECT \(key("n::text")), city, region, type, owner_id, 'available', battery, latitude, longitude, color, brand
                        FROM vehicles CROSS JOIN \(numbers)
                        WHERE id = '\(id.uuidString.lowercased())'
                        ON CONFLICT (id) DO NOTHING
                        """,
                    countChanged: "SELECT count(*) FROM vehicles WHERE \(added) AND status = 'removed'",
                    remove: "DELETE FROM vehicles WHERE \(added)")
            }
        }
    }

    struct LiveRowStatements: Equatable {
        var add: String
        var countChanged: String
        var remove: String
    }

    /// Live rows the bench adds for each replayed transaction of a write that changes one.
    static let liveRowsPerTransaction = 100

    /// The live rows of the ``Fresh/liveRow(_:count:)`` values in `fresh` (none for other
    /// kinds): their kind and statements.
    static func liveRowStatements(_ fresh: [String: Fresh]) throws -> [(rows: LiveRows, statements: LiveRowStatements)] {
        try fresh.sorted { $0.key < $1.key }.compactMap { value, kind in
            guard case .liveRow(let rows, let count) = kind else { return nil }
            guard let statements = rows.statements(copying: value, count: count) else {
                throw StackError("the \(rows.change.noun) to copy is not named by a key of one: \(value.utf8.count) characters")
            }
            return (rows, statements)
        }
    }

    /// One pgbench script per database, in the order the databases were first used; each bind
    /// becomes a `-D` constant (`-M prepared` keeps it a bind): one client repeats the call's own
    /// statements with the call's own values, except the values in `fresh` (lower case), which
    /// are new in every transaction. A script whose statements the service sent unnamed, to be
    /// planned for each execution's values, runs them so (`-M extended`); a script that mixes
    /// them with prepared ones runs prepared.
    static func scripts(_ statements: [BenchParse.LoggedStatement], prefix: String, fresh: [String: Fresh] = [:])
        -> [(database: String, script: RideSQLScript.Script)] {
        var order: [String] = []
        for statement in statements where !order.contains(statement.database) { order.append(statement.database) }
        let variables = Dictionary(uniqueKeysWithValues: fresh.keys.sorted().enumerated().map { ($1, "\(prefix)f\($0)") })
        return order.enumerated().map { index, database in
            var used: [String: Fresh] = [:]
            let own = statements.filter { $0.database == database }.map { statement in
                var statement = statement
                for offset in statement.parameters.indices.reversed() {
                    guard let value = statement.parameters[offset]?.lowercased(), let kind = fresh[value],
                          let variable = variables[value] else { continue }
                    // `$1` but not the start of `$10`, which may stay a bind until the constants.
                    statement.sql = statement.sql.replacingOccurrences(
                        of: "\\$\(offset + 1)(?![0-9])", with: NSRegularExpression.escapedTemplate(for: kind.expression(variable)),
                        options: .regularExpression)
                    statement.parameters[offset] = nil
                    used[variable] = kind
                }
                return statement
            }
            let draws = used.keys.sorted().map { "\\set \($0) random(1, \(used[$0]!.largestDraw))" }.joined(separator: "\n")
            var script = RideSQLScript.make(preamble: "", start: own, end: [], variables: [:],
                                            prefix: "\(prefix)\(index)_", typesText: false)
            if !draws.isEmpty { script.text = draws + "\n" + script.text }
            if own.allSatisfy(\.plannedEachExecution) { script.queryMode = .extended }
            return (database, script)
        }
    }

    /// Service hops of each public method the single-client section times, the client's to
    /// the gateway included (docs/API.md, "Hops" counts those after the gateway): the signed-in
    /// ones add the session check in the users service.
    static let hops: [String: Int] = [
        "cities.list": 1,
        "users.me": 2, "auth.logout": 2, "vehicles.list": 2, "vehicles.get": 2, "promo_codes.list": 2,
        "vehicles.add": 3, "vehicles.remove": 3, "vehicles.mine": 3, "vehicles.location_history": 3,
        "rides.list": 3, "rides.get": 3, "promo_codes.create": 3, "promo_codes.apply": 3,
        "rides.start": 4, "rides.update_location": 4, "rides.end": 4,
    ]
}

extension Benchmark {
    /// One call of a method to capture: what to send (each capture sends it again), returning
    /// the values of a write that must be new in each replayed transaction (``MethodSQL/Fresh``).
    struct MethodCall {
        var method: String
        /// Runs before each capture's start marker: what the call needs an earlier call to have
        /// left (a session to end, a code to apply, a vehicle to remove), made outside the
        /// window, so that a method can be captured again.
        var prepare: () async throws -> Void = {}
        var send: () async throws -> [String: MethodSQL.Fresh]
    }

    /// What the captures of one method found.
    struct CapturedMethod {
        /// The statements every capture had (``MethodSQL/common(_:)``).
        var statements: [BenchParse.LoggedStatement]
        /// The fewest statements of MovR's databases one capture had: 0 means the method sends
        /// none of its own (what other captures had was background work).
        var fewest: Int
        /// The first capture's values that are new in each replayed transaction.
        var fresh: [String: MethodSQL.Fresh] = [:]
        /// Statements of MovR's databases in each capture of the last attempt.
        var counts: [Int] = []
        /// Rounds of captures taken (a method whose captures disagree is captured again).
        var attempts: Int = 1

        /// Each capture had statements of its own, but none was in all of them.
        var disagrees: Bool { statements.isEmpty && fewest > 0 }
    }

    /// Rounds of captures of a method whose captures disagree (``CapturedMethod/disagrees``)
    /// before the bench reports it without SQL.
    static let methodCaptureAttempts = 3

    /// Captures the statements of each call (each `repeats` times, between marker statements,
    /// with statement logging on for the time it takes). A method whose captures disagree is
    /// captured again, up to ``methodCaptureAttempts`` rounds in all. Every capture's log lines
    /// go to `method-captures.log` in `work`, to read what was dropped.
    func captureMethods(_ calls: [MethodCall], repeats: Int = 3, superuserURL: String,
                        logPath: String, work: String) async throws -> [String: CapturedMethod] {
        var captured: [String: CapturedMethod] = [:]
        var windows = ""
        defer { try? windows.write(toFile: work + "/method-captures.log", atomically: true, encoding: .utf8) }
        var pending = Array(calls.enumerated())
        for attempt in 0..<Self.methodCaptureAttempts where !pending.isEmpty {
            func marker(_ index: Int, _ round: Int, _ edge: String) -> String { "movr-bench-m\(index)a\(attempt)r\(round)-\(edge)" }
            var fresh: [String: [String: MethodSQL.Fresh]] = [:]
            let log = try await withStatementLogging(superuserURL: superuserURL, logPath: logPath) {
                for (index, call) in pending {
                    for round in 0..<repeats {
                        try await call.prepare()
                        try await psql(superuserURL, ["SELECT '\(marker(index, round, "start"))'"])
                        let values = try await call.send()
                        if round == 0 { fresh[call.method] = values }
                        try await psql(superuserURL, ["SELECT '\(marker(index, round, "end"))'"])
                    }
                }
            }
            for (index, call) in pending {
                var rounds: [[BenchParse.LoggedStatement]] = []
                for round in 0..<repeats {
                    guard let window = Self.window(in: log, from: marker(index, round, "start"), to: marker(index, round, "end")) else {
                        throw StackError("the capture markers of \(call.method) are not in \(logPath)")
                    }
                    windows += "== \(call.method), attempt \(attempt + 1), capture \(round + 1)\n" + window
                    rounds.append(BenchParse.loggedStatements(window))
                }
                let counts = rounds.map { $0.filter { $0.database.hasPrefix("movr_") }.count }
                captured[call.method] = CapturedMethod(statements: MethodSQL.common(rounds), fewest: counts.min() ?? 0,
                                                       fresh: fresh[call.method] ?? [:], counts: counts,
                                                       attempts: attempt + 1)
            }
            pending = pending.filter { captured[$0.element.method]?.disagrees == true }
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

    /// Transactions of each replay: a count, not a time, so a write's replay adds a few hundred
    /// rows whatever its pace (two seconds of new vehicles or codes were thousands, which the
    /// later reads of the same tables then listed).
    static let methodReplayTransactions = 300

    /// Live copies of the row a replayed write changes for good (``MethodSQL/LiveRows``).
    static let liveRowCopies = methodReplayTransactions * MethodSQL.liveRowsPerTransaction

    /// One-client p50 (ms) of each captured method's statements, and where it came from:
    /// pgbench `-c 1` on each database's script, the per-transaction p50s of the databases added
    /// up (a call runs them one after another); 0 for a method that sends none (a capture without
    /// any); no figure when the captures still disagree after every attempt (none common to
    /// all, though each had some), and the source says how many each had.
    /// The replays run in `order` (the captures' order: each read before the writes that add rows
    /// it would read).
    func methodSQLLatencies(_ captured: [String: CapturedMethod], order: [String], superuserURL: String,
                            work: String) async throws -> [String: (ms: Double?, source: String)] {
        var latencies: [String: (ms: Double?, source: String)] = [:]
        for (index, method) in order.enumerated() {
            guard let capture = captured[method] else { continue }
            let statements = capture.statements
            guard !statements.isEmpty else {
                latencies[method] = capture.fewest == 0
                    ? (0, "none: a capture without any statement")
                    : (nil, "none measured: in \(capture.attempts) rounds of captures no statement was in every capture "
                        + "(the last round's had \(capture.counts.map(String.init).joined(separator: ", ")) in MovR's "
                        + "databases; see method-captures.log in the bench's work directory)")
                continue
            }
            let scripts = MethodSQL.scripts(statements, prefix: "m\(index)_", fresh: capture.fresh)
            let live = try MethodSQL.liveRowStatements(capture.fresh)
            let (total, changed) = try await withLiveRows(live, superuserURL: superuserURL) {
                try await replay(method, scripts, superuserURL: superuserURL, work: work)
            }
            let databases = scripts.map { entry in
                "\(statements.filter { $0.database == entry.database }.count) in \(entry.database)"
                    + (entry.script.queryMode == .prepared ? "" : ", `-M \(entry.script.queryMode.rawValue)` as the service plans it for each execution")
            }
            let renewed = live.map { rows, _ in
                "; each transaction \(rows.change.verb) another live \(rows.change.noun), one of "
                    + "\(Self.liveRowCopies) the bench added for the replay "
                    + "(\(changed) \(rows.change.done) in \(Self.methodReplayTransactions) transactions)"
            }.first ?? (capture.fresh.isEmpty ? "" : "; the new row's key new in each transaction")
            let again = capture.attempts > 1 ? "; captured in \(capture.attempts) rounds, the earlier ones' captures disagreed" : ""
            latencies[method] = (total, "pgbench -c 1 p50 of the captured statements (" + databases.joined(separator: ", ")
                + "), each database's added up" + renewed + again)
        }
        return latencies
    }

    /// The one-client p50 (ms) of a method's scripts, each database's on its own for
    /// ``methodReplayTransactions`` transactions, added up.
    private func replay(_ method: String, _ scripts: [(database: String, script: RideSQLScript.Script)],
                        superuserURL: String, work: String) async throws -> Double {
        var total = 0.0
        for (database, script) in scripts {
            let path = work + "/method-\(method)-\(database).sql"
            try script.text.write(toFile: path, atomically: true, encoding: .utf8)
            let run = try await pgbench(script: path, databaseURL: databaseURL(superuserURL, database), clients: 1,
                                        work: work, name: "method-\(method)-\(database)", defines: script.defines,
                                        transactions: Self.methodReplayTransactions, queryMode: script.queryMode)
            guard run.run.errors == 0, let p50 = run.run.p50Ms else {
                throw StackError("pgbench on \(method)'s statements in \(database) failed; see \(path)")
            }
            total += p50
        }
        return total
    }

    /// Runs `body` with the live rows added, and deletes them after it (whether or not it
    /// failed), then vacuums their databases (the rows' dead versions would otherwise stay in
    /// the indexes the later phases read); returns its result and how many rows it changed.
    private func withLiveRows<Result>(_ live: [(rows: MethodSQL.LiveRows, statements: MethodSQL.LiveRowStatements)],
                                      superuserURL: String,
                                      _ body: () async throws -> Result) async throws -> (Result, changed: Int) {
        guard !live.isEmpty else { return (try await body(), 0) }
        for (rows, statements) in live { try await psql(databaseURL(superuserURL, rows.database), [statements.add]) }
        func remove() async throws -> Int {
            var changed = 0
            for (rows, statements) in live {
                let lines = try await psqlLines(databaseURL(superuserURL, rows.database),
                                                statements: [statements.countChanged, statements.remove])
                changed += lines.first.flatMap { Int($0) } ?? 0
            }
            if let failure = await vacuum(superuserURL: superuserURL, databases: live.map(\.rows.database)) {
                throw StackError(failure)
            }
            return changed
        }
        let result: Result
        do {
            result = try await body()
        } catch {
            _ = try? await remove()
            throw error
        }
        return (result, try await remove())
    }
}
