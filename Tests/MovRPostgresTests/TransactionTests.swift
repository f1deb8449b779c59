import Foundation
import MovRPostgres
import MovRTestSupport
import Testing

@Suite struct TransactionTests {
    /// Counts calls across concurrent transactions.
    actor Counter {
        private(set) var value = 0
        func increment() -> Int { value += 1; return value }
    }

    /// Lets two tasks proceed only after both arrived (bounded wait so a bug cannot hang the test).
    actor Barrier {
        private var arrived = 0
        func arriveAndWait(parties: Int) async {
            arrived += 1
            let deadline = ContinuousClock.now + .seconds(30)
            while arrived < parties, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    @Test func serializationFailureIsRetried() async throws {
        try await TestPostgres.withClient(poolSize: 2) { client in
            try await client.execute("CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counters VALUES (1, 0)")
            let attempts = Counter()
            let barrier = Barrier()

            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await client.withTransaction(isolation: .serializable) { connection in
                            let attempt = await attempts.increment()
                            let rows = try await connection.query("SELECT n FROM counters WHERE id = \(1)")
                            let current = try rows.first!.decode("n", as: Int.self)
                            // Both transactions read before either writes: a lost update unless one retries.
                            if attempt <= 2 { await barrier.arriveAndWait(parties: 2) }
                            _ = try await connection.query("UPDATE counters SET n = \(current + 1) WHERE id = \(1)")
                        }
                    }
                }
                try await group.waitForAll()
            }

            #expect(await attempts.value > 2)  // at least one body ran again after 40001
            let final = try await client.query("SELECT n FROM counters WHERE id = 1")
            #expect(try final.first?.decode("n", as: Int.self) == 2)
        }
    }

    @Test func retriesStopAfterMaxAttempts() async throws {
        try await TestPostgres.withClient(poolSize: 1) { client in
            let attempts = Counter()
            let error = await #expect(throws: PostgresError.self) {
                try await client.withTransaction(maxAttempts: 3) { connection in
                    _ = await attempts.increment()
                    // Raise a genuine SQLSTATE 40001 from the server.
                    try await connection.execute("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
                }
            }
            #expect(error?.sqlState == "40001")
            #expect(error?.isRetryableTransactionConflict == true)
            #expect(await attempts.value == 3)
        }
    }

    @Test func errorsRollBackAndCommitPersists() async throws {
        try await TestPostgres.withClient(poolSize: 1) { client in
            try await client.execute("CREATE TABLE ledger (id int PRIMARY KEY)")
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await client.withTransaction { connection in
                    _ = try await connection.query("INSERT INTO ledger VALUES (\(1))")
                    throw Abort()
                }
            }
            // A statement error swallowed by the body still ends in a rollback, not a silent commit.
            let rolledBack = await #expect(throws: PostgresError.self) {
                try await client.withTransaction { connection in
                    _ = try await connection.query("INSERT INTO ledger VALUES (\(2))")
                    _ = try? await connection.query("INSERT INTO ledger VALUES (\(2))")
                }
            }
            #expect(rolledBack?.code == .transactionRolledBack)
            let value = try await client.withTransaction(isolation: .readCommitted) { connection in
                _ = try await connection.query("INSERT INTO ledger VALUES (\(3))")
                return 3
            }
            #expect(value == 3)
            let rows = try await client.query("SELECT id FROM ledger ORDER BY id")
            #expect(try rows.map { try $0.decode("id", as: Int.self) } == [3])
        }
    }
}

/// CockroachDB's savepoint retry protocol, run on real PostgreSQL (no CockroachDB can run here;
/// PostgreSQL accepts the same statements, a savepoint named cockroach_restart being an
/// ordinary one). A 40001 raised inside the body must roll back to the savepoint and rerun the
/// body in the same transaction; the first attempt's writes must not survive.
@Suite struct CockroachRetryTests {
    actor Attempts {
        private(set) var value = 0
        func next() -> Int { value += 1; return value }
    }

    @Test func theStatementsAreCockroachDBsDocumentedOnes() {
        #expect(CockroachRetry.savepoint == "SAVEPOINT cockroach_restart")
        #expect(CockroachRetry.rollbackToSavepoint == "ROLLBACK TO SAVEPOINT cockroach_restart")
        #expect(CockroachRetry.releaseSavepoint == "RELEASE SAVEPOINT cockroach_restart")
    }

    @Test func a40001RollsBackToTheSavepointAndRerunsTheBody() async throws {
        let url = try await TestPostgres.createDatabase()
        let client = PostgresClient(configuration: PostgresConfiguration(url: url, poolSize: 1, connectTimeoutSeconds: 20, dialect: .cockroach),
                                    logger: TestPostgres.logger)
        do {
            try await client.execute("CREATE TABLE marks (attempt int NOT NULL)")
            let attempts = Attempts()
            let backend = try await client.withTransaction { connection in
                let attempt = await attempts.next()
                _ = try await connection.query("INSERT INTO marks VALUES (\(attempt))")
                if attempt < 3 {
                    try await connection.execute("DO $$ BEGIN RAISE EXCEPTION 'restart' USING ERRCODE = '40001'; END $$")
                }
                // Same transaction throughout: the savepoint protocol never reconnects or re-begins.
                return try await connection.query("SELECT pg_backend_pid()::text, txid_current()::text").first.map { [$0[0], $0[1]] }
            }
            #expect(await attempts.value == 3)
            let rows = try await client.query("SELECT attempt FROM marks")
            #expect(rows.count == 1)
            #expect(try rows.first?.decode("attempt", as: Int.self) == 3)
            #expect(backend?.count == 2)

            // Other errors end the transaction at once.
            let failures = Attempts()
            await #expect(throws: PostgresError.self) {
                try await client.withTransaction { connection in
                    _ = await failures.next()
                    try await connection.execute("SELECT 1/0")
                }
            }
            #expect(await failures.value == 1)
            // Retries are bounded.
            let bounded = Attempts()
            await #expect(throws: PostgresError.self) {
                try await client.withTransaction(maxAttempts: 2) { connection in
                    _ = await bounded.next()
                    try await connection.execute("DO $$ BEGIN RAISE EXCEPTION 'restart' USING ERRCODE = '40001'; END $$")
                }
            }
            #expect(await bounded.value == 2)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}
