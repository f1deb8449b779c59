import Foundation
@testable import MovRPostgres
import MovRTestSupport
import Synchronization
import Testing

/// A task cancelled while it waits for the database (its caller went away, or its deadline
/// passed) stops waiting at once: a statement in flight is cancelled at the server, and a wait
/// for a pooled connection leaves the line. Without it, a request whose statement waits for a
/// row lock held elsewhere answers only when the lock is released, however late.
@Suite struct CancellationTests {
    /// Runs `body` while another client on the same database holds the advisory lock `key`;
    /// `blocked` counts the statements that lock holds up, as the server sees them
    /// (`pg_blocking_pids`). The lock is released afterwards (also when `body` throws), so
    /// nothing here can hang.
    func whileLocked(_ client: PostgresClient, key: Int,
                     _ body: (_ blocked: @escaping @Sendable () async throws -> Int) async throws -> Void) async throws {
        var configuration = client.configuration
        configuration.poolSize = 2  // one connection holds the lock, the other looks
        configuration.applicationName = "movr-test-holder"
        let holderClient = PostgresClient(configuration: configuration, logger: TestPostgres.logger)
        do {
            try await holderClient.withConnection { holder in
                _ = try await holder.query("SELECT pg_advisory_lock(CAST(\(key) AS bigint))")
                let holderPID = try await holder.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
                let blocked: @Sendable () async throws -> Int = {
                    try await holderClient.query("""
                        SELECT count(*) AS n FROM pg_stat_activity WHERE CAST(\(holderPID) AS int) = ANY(pg_blocking_pids(pid))
                        """).first!.decode("n", as: Int.self)
                }
                do {
                    try await body(blocked)
                } catch {
                    _ = try? await holder.query("SELECT pg_advisory_unlock(CAST(\(key) AS bigint))")
                    throw error
                }
                _ = try await holder.query("SELECT pg_advisory_unlock(CAST(\(key) AS bigint))")
            }
        } catch {
            await holderClient.shutdown()
            throw error
        }
        await holderClient.shutdown()
    }

    /// The outcome of `task`, or nil when it has not ended within `limit`. Polls instead of
    /// awaiting the task, so a task that never ends (the regression these tests catch) fails
    /// the test instead of hanging it: the caller then releases what the task waits for.
    func outcome<T: Sendable>(of task: Task<T, any Error>, within limit: Duration) async throws -> Result<T, any Error>? {
        let box = Mutex<Result<T, any Error>?>(nil)
        let watcher = Task { let result = await task.result; box.withLock { $0 = result } }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let result = box.withLock({ $0 }) { return result }
            try await Task.sleep(for: .milliseconds(10))
        }
        _ = watcher
        return nil
    }

    /// Returns once `blocked` counts a statement held up by the lock.
    func untilBlocked(_ blocked: () async throws -> Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await blocked() == 0 {
            try #require(ContinuousClock.now < deadline, "the statement never waited for the lock")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func aStatementWaitingForALockIsCancelledAtTheServerWithItsTask() async throws {
        let key = Int.random(in: 1..<Int(Int32.max))
        try await TestPostgres.withClient(poolSize: 1) { client in
            try await whileLocked(client, key: key) { blocked in
                let statement = Task {
                    try await client.query("SELECT pg_advisory_xact_lock(CAST(\(key) AS bigint))")
                }
                try await untilBlocked(blocked)
                statement.cancel()
                // Without cancellation the statement waits until the lock is released, which
                // happens only after this check: ending at all is the proof, the bound only keeps
                // a regression from hanging (generous: a loaded run can stall tests for seconds).
                let outcome = try await outcome(of: statement, within: .seconds(30))
                let error = try #require(outcome?.failure as? PostgresError, "the statement still waited 30 s after its task was cancelled")
                #expect(error.code == .cancelled)
                #expect(error.sqlState == "57014")
                // The server no longer runs it, and the connection serves the next statement
                // without a reopening (pool of one).
                #expect(try await blocked() == 0)
            }
            #expect(try await client.query("SELECT 1 AS one").first?["one"] == "1")
            let statistics = await client.poolStatistics
            #expect(statistics.connectionsOpened == 1)
            #expect(statistics.connectionsDiscarded == 0)
        }
    }

    @Test func aStatementOfACancelledTaskInATransactionRollsItBackAndTheConnectionStaysUsable() async throws {
        let key = Int.random(in: 1..<Int(Int32.max))
        try await TestPostgres.withClient(poolSize: 1) { client in
            _ = try await client.query("CREATE TABLE marks (id int PRIMARY KEY)")
            try await whileLocked(client, key: key) { blocked in
                let transaction = Task {
                    try await client.withTransaction { connection in
                        _ = try await connection.query("INSERT INTO marks VALUES (1)")
                        _ = try await connection.query("SELECT pg_advisory_xact_lock(CAST(\(key) AS bigint))")
                    }
                }
                try await untilBlocked(blocked)
                transaction.cancel()
                let outcome = try await outcome(of: transaction, within: .seconds(30))
                let error = try #require(outcome?.failure, "the transaction still waited 30 s after its task was cancelled")
                #expect((error as? PostgresError)?.code == .cancelled)
            }
            // Rolled back: the insert before the cancelled statement is gone.
            #expect(try await client.query("SELECT count(*) AS n FROM marks").first?.decode("n", as: Int.self) == 0)
            #expect(await client.poolStatistics.connectionsOpened == 1)
        }
    }

    @Test func aCancelledWaitForAPooledConnectionLeavesTheLineAtOnce() async throws {
        try await TestPostgres.withClient(poolSize: 1) { client in
            let (holding, holds) = AsyncStream<Void>.makeStream()
            let (release, releases) = AsyncStream<Void>.makeStream()
            // Holds the pool's only connection until told to give it back.
            let holder = Task {
                try await client.withConnection { _ in
                    holds.yield()
                    for await _ in release { break }
                }
            }
            var held = holding.makeAsyncIterator()
            await held.next()
            let waiter = Task { try await client.query("SELECT 1") }
            let deadline = ContinuousClock.now + .seconds(30)
            while await client.poolStatistics.waiting == 0 {
                try #require(ContinuousClock.now < deadline, "the second statement never waited for a connection")
                try await Task.sleep(for: .milliseconds(10))
            }
            waiter.cancel()
            // The pool's timeout is a minute (TestPostgres.makeClient) and the holder keeps the
            // connection until after this check: ending within 30 s is the proof.
            let outcome = try await outcome(of: waiter, within: .seconds(30))
            releases.yield()
            try await holder.value
            let error = try #require(outcome?.failure as? PostgresError, "the wait went on 30 s after its task was cancelled")
            #expect(error.code == .cancelled)
            #expect(await client.poolStatistics.waiting == 0)
            #expect(try await client.query("SELECT 2 AS two").first?["two"] == "2")
        }
    }
}
