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

    /// Warming opens the connections at once, within the pool's size, and the calls that follow
    /// open none.
    @Test func warmingOpensConnectionsBeforeCallsNeedThem() async throws {
        let applicationName = TestPostgres.uniqueName(prefix: "warm")
        try await TestPostgres.withClient(poolSize: 4, applicationName: applicationName) { client in
            #expect(await client.warm(connections: 3) == 3)
            var stats = await client.poolStatistics
            #expect(stats.connectionsOpened == 3 && stats.idleConnections == 3 && stats.openConnections == 3, "\(stats)")
            let rows = try await client.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = \(applicationName)")
            #expect(try rows.first?.decode("n", as: Int.self) == 3)
            // More than the size: up to the size.
            #expect(await client.warm(connections: 10) == 4)
            stats = await client.poolStatistics
            #expect(stats.connectionsOpened == 4 && stats.openConnections == 4, "\(stats)")
            // Three calls at once use the warm connections.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 { group.addTask { _ = try await client.query("SELECT pg_sleep(0.05)") } }
                try await group.waitForAll()
            }
            #expect(await client.poolStatistics.connectionsOpened == 4)
        }
    }

    /// A burst on an empty pool: everyone is served, the pool opens at most two connections at
    /// a time (the rest of the line is served by connections given back), and no more than its size.
    @Test func aBurstOnAnEmptyPoolOpensTwoConnectionsAtATime() async throws {
        try await TestPostgres.withClient(poolSize: 8, applicationName: TestPostgres.uniqueName(prefix: "burst")) { client in
            let answers = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await client.query("SELECT 1 AS one").first?["one"] == "1" }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(answers.count == 40 && answers.allSatisfy { $0 })
            // Openings started for the line may finish after it was served: they end idle.
            var stats = await client.poolStatistics
            let deadline = ContinuousClock.now + .seconds(10)
            while stats.openConnections != stats.idleConnections, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                stats = await client.poolStatistics
            }
            #expect((1...2).contains(stats.peakConnecting), "\(stats)")
            #expect(stats.peakOpenConnections <= 8 && stats.connectionsOpened <= 8, "\(stats)")
            #expect(stats.waiting == 0 && stats.openConnections == stats.idleConnections, "\(stats)")
        }
    }

    /// Nothing to connect to: every caller of a burst gets the connection error, none waits
    /// for the pool's timeout.
    @Test func aBurstAgainstAnUnreachableServerFailsEveryCallerWithTheConnectError() async throws {
        var configuration = PostgresConfiguration(url: "postgresql://movr@127.0.0.1:1/none?connect_timeout=2")
        configuration.poolSize = 2
        // A caller left waiting would fail at the pool's timeout, with `poolTimeout` and after a
        // minute; the bound below is half that, so the whole suite starting at once on two cores
        // (its first tests have been seen to end after 10–11 s) cannot use it up.
        configuration.poolTimeoutSeconds = 60
        let client = PostgresClient(configuration: configuration, logger: TestPostgres.logger)
        let started = ContinuousClock.now
        let codes = await withTaskGroup(of: PostgresError.Code?.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    do {
                        _ = try await client.query("SELECT 1")
                        return nil
                    } catch {
                        return (error as? PostgresError)?.code
                    }
                }
            }
            return await group.reduce(into: [PostgresError.Code?]()) { $0.append($1) }
        }
        #expect(codes.count == 6 && codes.allSatisfy { $0 == .connectionFailed }, "\(codes)")
        #expect(ContinuousClock.now - started < .seconds(30))
        let stats = await client.poolStatistics
        #expect(stats.openConnections == 0 && stats.waiting == 0 && stats.peakConnecting <= 2, "\(stats)")
        await client.shutdown()
    }

    /// With an open delay, a caller that finds the one connection busy waits for it to come
    /// back and nothing is opened; one that waits longer than the delay gets a new connection
    /// at about the delay, long before the busy one comes back. (A delay of seconds here, so a
    /// loaded machine cannot blur the two cases; the services use 5 ms.)
    @Test func aCallerWaitsTheOpenDelayForAConnectionToComeBackBeforeOneIsOpened() async throws {
        let url = try await TestPostgres.createDatabase()
        var configuration = PostgresConfiguration(url: url, poolSize: 4, connectTimeoutSeconds: 20)
        configuration.poolOpenDelayMilliseconds = 3000
        let client = PostgresClient(configuration: configuration, logger: TestPostgres.logger)
        #expect(await client.warm(connections: 1) == 1)
        // Held 0.2 s, well within the delay: the second caller gets it back.
        try await withThrowingTaskGroup(of: Void.self) { group in
            let held = AsyncStream<Void>.makeStream()
            group.addTask {
                try await client.withConnection { _ in
                    held.continuation.yield()
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            for await _ in held.stream { break }
            group.addTask { _ = try await client.query("SELECT 1") }
            try await group.waitForAll()
        }
        var stats = await client.poolStatistics
        #expect(stats.connectionsOpened == 1 && stats.openConnections == 1, "\(stats)")
        // Held a minute: the second caller waits the delay, then the pool opens a connection for it.
        let started = ContinuousClock.now
        let waited = try await withThrowingTaskGroup(of: Duration?.self) { group in
            let held = AsyncStream<Void>.makeStream()
            group.addTask {
                try await client.withConnection { _ in
                    held.continuation.yield()
                    try? await Task.sleep(for: .seconds(60))  // cut short once the second caller is served
                }
                return nil
            }
            for await _ in held.stream { break }
            group.addTask {
                _ = try await client.query("SELECT 1")
                return ContinuousClock.now - started
            }
            var waited: Duration?
            for try await result in group where result != nil { waited = result; group.cancelAll() }
            return waited
        }
        let second = try #require(waited)
        // Long before the held one came back, with room for a slow handshake on a loaded machine.
        #expect(second >= .milliseconds(2900) && second < .seconds(30), "served after \(second)")
        stats = await client.poolStatistics
        #expect(stats.connectionsOpened == 2, "\(stats)")
        await client.shutdown()
    }

    @Test func waitersTimeOutWhenThePoolStaysBusy() async throws {
        let url = try await TestPostgres.createDatabase()
        let client = PostgresClient(
            configuration: PostgresConfiguration(url: url, poolSize: 1, connectTimeoutSeconds: 20, poolTimeoutSeconds: 0.2),
            logger: TestPostgres.logger)
        // Opening the first connection may take longer than the timeout on a loaded machine: the
        // caller gives up, the opening goes on and the connection is kept idle for the next one.
        var ready = false
        for _ in 0..<100 where !ready {
            ready = await client.ping()
            if !ready { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(ready)
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
                configuration: PostgresConfiguration(url: cluster.superuserURL, poolSize: 2, connectTimeoutSeconds: 20),
                logger: TestPostgres.logger)
            // Open both pooled connections: each task holds its connection until the other has
            // one too (a fixed sleep let the first give its connection back, under a loaded
            // parallel run, before the second had opened another, and both used one).
            let inside = Arrivals()
            @Sendable func holdUntilBothIn(_ connection: PostgresConnection) async throws -> Int {
                _ = try await connection.query("SELECT 1 AS one")
                await inside.arrive()
                let deadline = ContinuousClock.now + .seconds(60)
                while await inside.count < 2 {
                    guard ContinuousClock.now < deadline else { throw CancellationError() }
                    try await Task.sleep(for: .milliseconds(10))
                }
                return connection.id
            }
            async let first: Int = client.withConnection(holdUntilBothIn)
            async let second: Int = client.withConnection(holdUntilBothIn)
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

/// How many tasks have reached a point.
private actor Arrivals {
    private(set) var count = 0
    func arrive() { count += 1 }
}
