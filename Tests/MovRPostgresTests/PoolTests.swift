import Foundation
import MovRPostgres
import MovRTestSupport
import Testing

@Suite struct PoolTests {
    @Test func poolNeverExceedsItsSize() async throws {
        let applicationName = TestPostgres.uniqueName(prefix: "bound")
        try await TestPostgres.withClient(poolSize: 2, applicationName: applicationName) { client in
            let observed = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<10 {
                    group.addTask {
                        try await client.withConnection { connection in
                            let rows = try await connection.query("""
                                SELECT count(*) AS n, pg_sleep(0.05) IS NULL AS slept
                                FROM pg_stat_activity WHERE application_name = \(applicationName)
                                """)
                            _ = index
                            return try rows.first!.decode("n", as: Int.self)
                        }
                    }
                }
                var all: [Int] = []
                for try await count in group { all.append(count) }
                return all
            }
            #expect(observed.count == 10)
            #expect(observed.allSatisfy { (1...2).contains($0) })
            let stats = await client.poolStatistics
            #expect(stats.peakOpenConnections <= 2)
            #expect(stats.connectionsOpened <= 2)
            #expect(stats.waiting == 0)
        }
    }

    @Test func waitersTimeOutWhenThePoolStaysBusy() async throws {
        let url = try await TestPostgres.createDatabase()
        let client = PostgresClient(
            configuration: PostgresConfiguration(url: url, poolSize: 1, poolTimeoutSeconds: 0.2),
            logger: TestPostgres.logger)
        try await client.withConnection { _ in
            let error = await #expect(throws: PostgresError.self) { _ = try await client.query("SELECT 1") }
            #expect(error?.code == .poolTimeout)
        }
        #expect(await client.ping())
        await client.shutdown()
    }

    @Test func connectionLeftInATransactionIsDiscarded() async throws {
        try await TestPostgres.withClient(poolSize: 1) { client in
            try await client.execute("CREATE TABLE pending (id int)")
            let leakedPID = try await client.withConnection { connection in
                try await connection.execute("BEGIN; INSERT INTO pending VALUES (1)")
                return try await connection.query("SELECT pg_backend_pid() AS pid").first?["pid"]
            }
            let stats = await client.poolStatistics
            #expect(stats.connectionsDiscarded == 1)
            let next = try await client.query("SELECT pg_backend_pid() AS pid, (SELECT count(*) FROM pending) AS n")
            #expect(next.first?["pid"] != leakedPID)
            #expect(try next.first?.decode("n", as: Int.self) == 0)  // the open transaction was not committed
        }
    }

    @Test func poolRecoversAfterServerRestart() async throws {
        let cluster = try await TestPostgres.makePrivateCluster()
        do {
            let client = PostgresClient(
                configuration: PostgresConfiguration(url: cluster.superuserURL, poolSize: 2),
                logger: TestPostgres.logger)
            // Open both pooled connections.
            async let first: Int = client.withConnection { connection in
                _ = try await connection.query("SELECT pg_sleep(0.2)")
                return connection.id
            }
            async let second: Int = client.withConnection { connection in
                _ = try await connection.query("SELECT pg_sleep(0.2)")
                return connection.id
            }
            let ids = try await [first, second]
            #expect(Set(ids).count == 2)
            let before = try await client.query("SELECT pg_backend_pid() AS pid")

            try await TestPostgres.restart(cluster)

            // Every pooled connection was killed; the pool must replace them transparently.
            let after = try await client.query("SELECT pg_backend_pid() AS pid")
            #expect(after.first?["pid"] != before.first?["pid"])
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<4 { group.addTask { await client.ping() } }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results == [true, true, true, true])
            let total = try await client.withTransaction { try await $0.query("SELECT 1 AS one") }
            #expect(total.first?["one"] == "1")
            let stats = await client.poolStatistics
            #expect(stats.connectionsDiscarded >= 2)
            #expect(stats.peakOpenConnections <= 2)
            await client.shutdown()
        } catch {
            await TestPostgres.stopPrivateCluster(cluster)
            throw error
        }
        await TestPostgres.stopPrivateCluster(cluster)
    }
}
