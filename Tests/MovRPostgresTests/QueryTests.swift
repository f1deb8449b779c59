import Foundation
import MovRPostgres
import MovRTestSupport
import Testing

@Suite struct QueryTests {
    @Test func interpolationProducesBindsNotSQL() {
        let id = 7
        let name = "x'); DROP TABLE t; --"
        let query: PostgresQuery = "SELECT * FROM \(unsafeSQL: "users") WHERE id = \(id) AND name = \(name)"
        #expect(query.sql == "SELECT * FROM users WHERE id = $1 AND name = $2")
        #expect(query.binds.values == ["7", name])
        #expect(query.binds.types == [.int8, .unspecified])
        #expect(!query.description.contains("DROP"))
    }

    /// The binds' arrays get room for every interpolated value before the first is appended, so
    /// a statement's binds cost one allocation per array instead of one per doubling.
    @Test func bindsAreReservedForEveryInterpolation() {
        let (a, b, c, d, e) = (1, "two", 3.0, true, UUID())
        let query: PostgresQuery = "INSERT INTO t VALUES (\(a), \(b), \(c), \(d), \(e), \(a), \(b), \(c), \(d))"
        #expect(query.binds.count == 9)
        #expect(query.binds.values.capacity >= 9 && query.binds.values.capacity < 16)
        #expect(query.binds.types.capacity >= 9 && query.binds.types.capacity < 16)
        #expect(PostgresBindings(capacity: 4).count == 0)
    }

    @Test func hostileTextIsData() async throws {
        try await TestPostgres.withClient { client in
            try await client.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
            let hostile = ["'); DROP TABLE notes; --", "\\'; SELECT pg_sleep(10); --", "$1", "\"notes\"", "%s\0".replacingOccurrences(of: "\0", with: "")]
            for body in hostile {
                _ = try await client.query("INSERT INTO notes (body) VALUES (\(body))")
            }
            let rows = try await client.query("SELECT body FROM notes ORDER BY id")
            #expect(try rows.map { try $0.decode("body", as: String.self) } == hostile)
            let table = try await client.query("SELECT to_regclass('notes') IS NOT NULL AS present")
            #expect(try table.first?.decode("present", as: Bool.self) == true)
        }
    }

    @Test func sameSQLIsPreparedOncePerConnection() async throws {
        try await TestPostgres.withClient(poolSize: 1) { client in
            try await client.withConnection { connection in
                try await connection.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
                #expect(connection.prepareCount == 0)
                for id in 1...3 {
                    let rows = try await connection.query("INSERT INTO items VALUES (\(id), \("item \(id)"))")
                    #expect(rows.affectedRows == 1)
                }
                #expect(connection.prepareCount == 1)
                _ = try await connection.query("SELECT label FROM items WHERE id = \(1)")
                _ = try await connection.query("SELECT label FROM items WHERE id = \(2)")
                #expect(connection.prepareCount == 2)
                let prepared = try await connection.query(
                    "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = \("SELECT label FROM items WHERE id = $1")")
                #expect(try prepared.first?.decode("n", as: Int.self) == 1)
                // DDL through query() runs unprepared.
                _ = try await connection.query("CREATE INDEX items_label ON items (label)")
                #expect(connection.prepareCount == 3)  // the pg_prepared_statements query itself
                let updated = try await connection.query("UPDATE items SET label = \("x") WHERE id > \(1)")
                #expect(updated.affectedRows == 2)
            }
        }
    }

    /// A query planned each execution is sent unnamed: never prepared, so the server plans it
    /// for each call's values and never switches it to a generic plan.
    @Test func aQueryPlannedEachExecutionIsNeverPrepared() async throws {
        try await TestPostgres.withClient(poolSize: 1) { client in
            try await client.withConnection { connection in
                try await connection.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
                _ = try await connection.query("INSERT INTO items SELECT n, 'item ' || n FROM generate_series(1, 20) n")
                let before = connection.prepareCount
                for id in 1...8 {  // past the five custom plans after which a prepared statement may go generic
                    let query: PostgresQuery = "SELECT label FROM items WHERE id = \(id)"
                    let rows = try await connection.query(query.plannedEachExecution())
                    #expect(try rows.first?.decode("label", as: String.self) == "item \(id)")
                }
                #expect(connection.prepareCount == before)
                let prepared = try await connection.query(
                    "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = \("SELECT label FROM items WHERE id = $1")")
                #expect(try prepared.first?.decode("n", as: Int.self) == 0)
                // The same text without the flag is prepared once and reused.
                for id in 1...2 { _ = try await connection.query("SELECT label FROM items WHERE id = \(id)") }
                let again = try await connection.query(
                    "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = \("SELECT label FROM items WHERE id = $1")")
                #expect(try again.first?.decode("n", as: Int.self) == 1)
            }
        }
    }

    @Test func executeRunsMultiStatementScripts() async throws {
        try await TestPostgres.withClient { client in
            try await client.execute("""
                CREATE TABLE a (id int PRIMARY KEY);
                CREATE TABLE b (id int PRIMARY KEY REFERENCES a (id));
                INSERT INTO a VALUES (1), (2);
                INSERT INTO b VALUES (1);
                """)
            let rows = try await client.query("SELECT (SELECT count(*) FROM a) AS a, (SELECT count(*) FROM b) AS b")
            #expect(try rows.first?.decode("a", as: Int.self) == 2)
            #expect(try rows.first?.decode("b", as: Int.self) == 1)
        }
    }

    @Test func uniqueViolationCarriesSQLStateAndConstraintButNoValue() async throws {
        try await TestPostgres.withClient { client in
            try await client.execute("CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL CONSTRAINT users_email_key UNIQUE)")
            let secret = "very-secret-address@example.com"
            _ = try await client.query("INSERT INTO users VALUES (1, \(secret))")
            let error = await #expect(throws: PostgresError.self) {
                _ = try await client.query("INSERT INTO users VALUES (2, \(secret))")
            }
            let failure = try #require(error)
            #expect(failure.code == .server)
            #expect(failure.sqlState == "23505")
            #expect(failure.isUniqueViolation)
            #expect(failure.constraintName == "users_email_key")
            #expect(!failure.description.contains(secret))
            #expect(!"\(failure)".contains(secret))
            #expect(!failure.description.contains("INSERT"))
            #expect(failure.debugDescription.contains("duplicate key"))
            #expect(failure.debugDescription.contains(secret))  // DETAIL quotes the key: debug only

            let syntax = await #expect(throws: PostgresError.self) { _ = try await client.query("SELEC 1") }
            #expect(syntax?.sqlState == "42601")
            // The pooled connection is still usable after errors.
            #expect(await client.ping())
        }
    }

    @Test func connectionFailureIsTyped() async throws {
        let cluster = try await TestPostgres.sharedCluster()
        let client = PostgresClient(
            configuration: PostgresConfiguration(url: cluster.url(database: "no_such_database_xyz"), poolSize: 1),
            logger: TestPostgres.logger)
        let error = await #expect(throws: PostgresError.self) { _ = try await client.query("SELECT 1") }
        #expect(error?.code == .connectionFailed)
        #expect(await client.ping() == false)
        await client.shutdown()
        let closed = await #expect(throws: PostgresError.self) { _ = try await client.query("SELECT 1") }
        #expect(closed?.code == .poolClosed)
    }

    /// The harness's retry (for a shared cluster swamped at suite start) tries a refused
    /// connection three times, then reports it; other errors are not retried.
    @Test func theHarnessRetriesOnlyConnectionFailuresAndGivesUp() async throws {
        let url = "postgresql://postgres@127.0.0.1:\(try TestPostgres.freePort())/none"
        let client = PostgresClient(configuration: PostgresConfiguration(url: url, poolSize: 1), logger: TestPostgres.logger)
        var attempts = 0
        let refused = await #expect(throws: PostgresError.self) {
            try await TestPostgres.retryingConnectionFailures("connecting to a closed port") {
                attempts += 1
                _ = try await client.query("SELECT 1")
            }
        }
        #expect(refused?.code == .connectionFailed)
        #expect(attempts == 3)
        await client.shutdown()

        attempts = 0
        try await TestPostgres.withClient { client in
            let syntax = await #expect(throws: PostgresError.self) {
                try await TestPostgres.retryingConnectionFailures("a bad statement") {
                    attempts += 1
                    _ = try await client.query("SELEC 1")
                }
            }
            #expect(syntax?.sqlState == "42601")
        }
        #expect(attempts == 1)
    }

    @Test func multiHostURLSkipsADeadHost() async throws {
        let cluster = try await TestPostgres.sharedCluster()
        let deadPort = try TestPostgres.freePort()
        let database = try await TestPostgres.createDatabase()
        let name = try #require(URLComponents(string: database)?.path.dropFirst())
        let url = "postgresql://postgres@127.0.0.1:\(deadPort),127.0.0.1:\(cluster.port)/\(name)?target_session_attrs=read-write&passfile=\(cluster.passwordFile)"
        let client = PostgresClient(configuration: PostgresConfiguration(url: url, poolSize: 1, connectTimeoutSeconds: 20),
                                    logger: TestPostgres.logger)
        let rows = try await client.query("SELECT current_database() AS db")
        #expect(rows.first?["db"] == String(name))
        await client.shutdown()
    }
}
