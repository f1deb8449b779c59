import Foundation
@testable import MovRTool
import Testing

/// How `movr bench` turns captured server logs into each public method's statements and their
/// pgbench scripts (no tool is run, nothing timed).
@Suite struct BenchmarkMethodSQLTests {
    typealias Statement = BenchParse.LoggedStatement

    static let session = Statement(database: "movr_users", sql: "SELECT u.id FROM sessions s WHERE s.token_hash = decode($1, 'hex')",
                                   parameters: ["ab"])
    static let list = Statement(database: "movr_rides",
                                sql: "SELECT * FROM rides WHERE rider_id = $1 AND ($2 OR status = 'active') LIMIT $3",
                                parameters: ["1b4e28ba-2fa1-11d2-883f-0016d3cca427", "f", "11"])
    static let relayPoll = Statement(database: "movr_rides", sql: "SELECT id FROM outbox WHERE next_attempt_at <= now()",
                                     parameters: [])

    /// A statement every capture has is kept once per occurrence, in the first capture's order;
    /// one that only some captures have (a background poll that fell into that window) is not;
    /// the markers' database is not MovR's.
    @Test func keepsWhatEveryCaptureHas() {
        let marker = Statement(database: "postgres", sql: "SELECT 'movr-bench-m0r0-end'", parameters: [])
        var second = Self.list
        second.parameters[0] = "00000000-0000-0000-0000-000000000001"
        let captures = [
            [Self.session, Self.relayPoll, Self.list, marker],
            [Self.session, second],
            [Self.relayPoll, Self.session, Self.list],
        ]
        #expect(MethodSQL.common(captures) == [Self.session, Self.list])
        // Twice in every capture: kept twice; twice in only one: once.
        #expect(MethodSQL.common([[Self.session, Self.session], [Self.session, Self.session]]) == [Self.session, Self.session])
        #expect(MethodSQL.common([[Self.session, Self.session], [Self.session]]) == [Self.session])
        #expect(MethodSQL.common([[Self.session], [Self.list]]).isEmpty)
        #expect(MethodSQL.common([]).isEmpty)
    }

    /// One script per database in the order the call used them; binds become constants, and a
    /// constant that is no uuid or number is left for the server to type (a boolean here).
    @Test func oneScriptPerDatabaseWithTheCallsValues() {
        let scripts = MethodSQL.scripts([Self.session, Self.list], prefix: "m2_")
        #expect(scripts.map(\.database) == ["movr_users", "movr_rides"])
        #expect(scripts[0].script.text == "SELECT u.id FROM sessions s WHERE s.token_hash = decode(:m2_0_0_1, 'hex');\n")
        #expect(scripts[0].script.defines == ["m2_0_0_1": "ab"])
        #expect(scripts[1].script.text
                    == "SELECT * FROM rides WHERE rider_id = :m2_1_0_1::uuid AND (:m2_1_0_2 OR status = 'active') LIMIT :m2_1_0_3::int8;\n")
        #expect(scripts[1].script.defines
                    == ["m2_1_0_1": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "m2_1_0_2": "f", "m2_1_0_3": "11"])
        #expect(MethodSQL.scripts([], prefix: "m0_").isEmpty)
        #expect(scripts.map(\.script.queryMode) == [.prepared, .prepared])
    }

    /// A database's statements that the service sent unnamed (planned for each execution's
    /// values) are replayed so, with `-M extended`; mixed with prepared ones, prepared.
    @Test func statementsPlannedForEachExecutionAreReplayedUnprepared() {
        var list = Self.list
        list.plannedEachExecution = true
        let scripts = MethodSQL.scripts([Self.session, list], prefix: "m3_")
        #expect(scripts.map(\.script.queryMode) == [.prepared, .extended])
        #expect(scripts[1].script.text == MethodSQL.scripts([Self.session, Self.list], prefix: "m3_")[1].script.text)
        let mixed = MethodSQL.scripts([Self.relayPoll, list], prefix: "m5_")
        #expect(mixed.map(\.script.queryMode) == [.prepared])
    }

    /// The lines between a capture's two markers: not the markers' own lines, not another
    /// capture's (an earlier window with the same start is passed over).
    @Test func windowIsBetweenTheMarkers() {
        let log = """
            2026-12-05 10:00:00.000 UTC [1] postgres LOG:  statement: SELECT 'movr-bench-m1r0-start'
            2026-12-05 10:00:00.001 UTC [2] movr_users LOG:  execute s1: old
            2026-12-05 10:00:00.002 UTC [1] postgres LOG:  statement: SELECT 'movr-bench-m1r0-end'
            2026-12-05 10:00:01.000 UTC [1] postgres LOG:  statement: SELECT 'movr-bench-m1r0-start'
            2026-12-05 10:00:01.001 UTC [2] movr_users LOG:  execute s1: SELECT 1
            2026-12-05 10:00:01.002 UTC [2] movr_users DETAIL:  parameters: $1 = 'x'
            2026-12-05 10:00:01.003 UTC [1] postgres LOG:  statement: SELECT 'movr-bench-m1r0-end'
            2026-12-05 10:00:01.004 UTC [1] postgres LOG:  statement: SELECT 'movr-bench-m1r1-start'
            """
        let window = Benchmark.window(in: log, from: "movr-bench-m1r0-start", to: "movr-bench-m1r0-end")
        #expect(window == """
            2026-12-05 10:00:01.001 UTC [2] movr_users LOG:  execute s1: SELECT 1
            2026-12-05 10:00:01.002 UTC [2] movr_users DETAIL:  parameters: $1 = 'x'

            """)
        #expect(BenchParse.loggedStatements(window ?? "") == [Statement(database: "movr_users", sql: "SELECT 1", parameters: ["x"])])
        // A statement that ends its window (no bind values after it) is the same statement as
        // one followed by a background statement in another window.
        let last = "2026-12-05 10:00:01.001 UTC [2] movr_rides LOG:  execute s9: SELECT code FROM promo_codes\n"
        let followed = last + "2026-12-05 10:00:01.002 UTC [3] movr_rides LOG:  execute s1: UPDATE outbox SET attempts = 1\n"
        let captures = [last, followed, last].map { BenchParse.loggedStatements($0) }
        #expect(captures[0].map(\.sql) == ["SELECT code FROM promo_codes"])
        #expect(MethodSQL.common(captures).map(\.sql) == ["SELECT code FROM promo_codes"])
        #expect(Benchmark.window(in: log, from: "movr-bench-m1r1-start", to: "movr-bench-m1r1-end") == nil)
        #expect(Benchmark.window(in: log, from: "movr-bench-m9r0-start", to: "movr-bench-m9r0-end") == nil)
    }

    /// A write's new-row values become an expression of a number pgbench draws per transaction
    /// (no round trip), the same number wherever the value recurs in that database's script;
    /// every other bind stays a constant, and a database without such a value draws nothing.
    @Test func freshValuesAreNewInEachTransaction() {
        let vehicle = "6f1c8a2e-0000-4000-8000-000000000001"
        let insert = Statement(database: "movr_vehicles",
                               sql: "WITH v AS (INSERT INTO vehicles (id, owner_id, brand) VALUES ($1, $2, $3) RETURNING id) "
                                   + "INSERT INTO vehicle_location_histories (vehicle_id) SELECT $1 FROM v WHERE $10 IS NULL",
                               parameters: [vehicle.uppercased(), "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "Bench",
                                            nil, nil, nil, nil, nil, nil, nil])
        let code = Statement(database: "movr_rides", sql: "INSERT INTO promo_codes (code, percent_off) VALUES ($1, $2)",
                             parameters: ["BENCHX1", "10"])
        let scripts = MethodSQL.scripts([Self.session, insert, code], prefix: "m4_",
                                        fresh: [vehicle: .uuid, "benchx1": .text(prefix: "B")])
        #expect(scripts.map(\.database) == ["movr_users", "movr_vehicles", "movr_rides"])
        #expect(!scripts[0].script.text.contains("\\set"))
        let lines = scripts[1].script.text.split(separator: "\n").map(String.init)
        #expect(lines.first == "\\set m4_f0 random(1, 9000000000000000000)")
        #expect(lines.last == "WITH v AS (INSERT INTO vehicles (id, owner_id, brand) VALUES (md5(:m4_f0::text)::uuid, "
                    + ":m4_1_0_2::uuid, :m4_1_0_3) RETURNING id) INSERT INTO vehicle_location_histories (vehicle_id) "
                    + "SELECT md5(:m4_f0::text)::uuid FROM v WHERE NULL IS NULL;")
        #expect(scripts[1].script.defines == ["m4_1_0_2": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "m4_1_0_3": "Bench"])
        #expect(scripts[2].script.text == "\\set m4_f1 random(1, 9000000000000000000)\n"
                    + "INSERT INTO promo_codes (code, percent_off) VALUES (('B' || :m4_f1::text), :m4_2_0_2::int8);\n")
    }

    /// A write that changes its row for good replays on live copies of it: the key becomes an
    /// expression of a number drawn from the copies the bench adds (a session's token hash, a
    /// vehicle's id); anything but such a key is refused before it reaches a statement.
    @Test func writesThatChangeTheirRowReplayOnLiveCopies() throws {
        let hash = String(repeating: "0a", count: 32)
        let revoke = Statement(database: "movr_users",
                               sql: "UPDATE sessions SET revoked_at = now() WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL",
                               parameters: [hash])
        let scripts = MethodSQL.scripts([revoke], prefix: "m9_", fresh: [hash: .liveRow(.session, count: 30_000)])
        #expect(scripts.count == 1 && scripts[0].script.defines.isEmpty)
        #expect(scripts[0].script.text == "\\set m9_f0 random(1, 30000)\n"
                    + "UPDATE sessions SET revoked_at = now() WHERE token_hash = "
                    + "decode((md5(:m9_f0::text) || md5(:m9_f0::text)), 'hex') AND revoked_at IS NULL;\n")
        let live = try MethodSQL.liveRowStatements([hash: .liveRow(.session, count: 30_000), "other": .uuid])
        #expect(live.count == 1 && live.first?.rows == .session && live.first?.rows.database == "movr_users")
        let sessions = try #require(live.first?.statements)
        #expect(sessions.add.contains("generate_series(1, 30000)"))
        #expect(sessions.add.contains("WHERE token_hash = decode('\(hash)', 'hex')"))
        #expect(sessions.add.contains("SELECT decode((md5(n::text) || md5(n::text)), 'hex'), user_id"))
        #expect(sessions.countChanged.hasSuffix("AND revoked_at IS NOT NULL"))
        #expect(sessions.remove.hasPrefix("DELETE FROM sessions WHERE token_hash IN (SELECT decode("))

        let vehicle = "6F1C8A2E-0000-4000-8000-000000000001"
        let remove = Statement(database: "movr_vehicles",
                               sql: "UPDATE vehicles SET status = 'removed' WHERE id = $1 AND owner_id = $2 AND status = 'available'",
                               parameters: [vehicle.lowercased(), "1b4e28ba-2fa1-11d2-883f-0016d3cca427"])
        let removal = MethodSQL.scripts([remove], prefix: "m8_", fresh: [vehicle.lowercased(): .liveRow(.vehicle, count: 300)])
        #expect(removal.first?.script.text.hasPrefix("\\set m8_f0 random(1, 300)\n"
                    + "UPDATE vehicles SET status = 'removed' WHERE id = md5(:m8_f0::text)::uuid AND owner_id = ") == true)
        let vehicles = try #require(MethodSQL.LiveRows.vehicle.statements(copying: vehicle, count: 300))
        #expect(vehicles.add.contains("SELECT md5(n::text)::uuid, city, region, type, owner_id, 'available',"))
        #expect(vehicles.add.contains("WHERE id = '\(vehicle.lowercased())'"))
        #expect(vehicles.countChanged.hasSuffix("AND status = 'removed'"))
        #expect(vehicles.remove == "DELETE FROM vehicles WHERE id IN (SELECT md5(n::text)::uuid FROM generate_series(1, 300) AS n)")

        #expect(MethodSQL.LiveRows.session.statements(copying: "0a'); DROP TABLE sessions; --", count: 1) == nil)
        #expect(MethodSQL.LiveRows.session.statements(copying: String(repeating: "0A", count: 32), count: 1) == nil)
        #expect(MethodSQL.LiveRows.vehicle.statements(copying: "x' OR true --", count: 1) == nil)
        #expect(throws: StackError.self) { try MethodSQL.liveRowStatements(["x": .liveRow(.vehicle, count: 1)]) }
    }

    /// Every method the single-client section times has its hops, as docs/API.md counts them
    /// after the gateway plus the client's own; the ride cycle's script keeps typing its text.
    @Test func hopsOfEveryTimedMethod() {
        #expect(Set(MethodSQL.hops.keys) == Set(Benchmark.timedMethods))
        #expect(MethodSQL.hops.count == 17)
        #expect(MethodSQL.hops["auth.logout"] == 2 && MethodSQL.hops["vehicles.add"] == 3)
        #expect(MethodSQL.hops["promo_codes.create"] == 3 && MethodSQL.hops["vehicles.location_history"] == 3)
        #expect(MethodSQL.hops["cities.list"] == 1)
        #expect(MethodSQL.hops["users.me"] == 2 && MethodSQL.hops["promo_codes.list"] == 2)
        #expect(MethodSQL.hops["rides.list"] == 3 && MethodSQL.hops["rides.get"] == 3)
        #expect(MethodSQL.hops["rides.update_location"] == 4 && MethodSQL.hops["rides.start"] == 4)
        let typed = RideSQLScript.make(preamble: "", start: [Self.list], end: [], variables: [:], prefix: "r")
        #expect(typed.text.contains(":r0_2::text"))
    }
}
