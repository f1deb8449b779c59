import Foundation
import MovRPool
import MovRPostgres
import MovRTestSupport
import Testing

/// TCP keepalive on the pool's libpq connections (``PostgresConfiguration/keepalive``), on a
/// private cluster so the sockets to its port are this test's own.
@Suite(.serialized) struct PostgresKeepaliveTests {
    static func client(url: String,
                       keepalive: TCPKeepalive? = TCPKeepalive()) -> PostgresClient {
        var configuration = PostgresConfiguration(url: url, poolSize: 1, connectTimeoutSeconds: 20)
        configuration.keepalive = keepalive
        return PostgresClient(configuration: configuration, logger: TestPostgres.logger)
    }

    /// The kernel resumes a `/proc/net/tcp` listing by position between reads, so a socket can
    /// be listed twice while other tests open and close theirs (seen in CI: one connection,
    /// two lines). Each socket counts once; two sockets on the same ports do not merge.
    @Test func aSocketListedTwiceCountsOnce() {
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        func line(_ slot: Int, ticks: String, inode: Int) -> String {
            "   \(slot): 0100007F:CF76 0100007F:C6C9 01 00000000:00000000 02:\(ticks) 00000000   999        0 \(inode) 1 0000000000000000 20 4 30 10 -1\n"
        }
        let twice = header + line(0, ticks: "000AFC6C", inode: 4242) + line(7, ticks: "000AFC66", inode: 4242)
        let entries = LoopbackSockets.entries(in: twice)
        #expect(entries.count == 1, "\(entries)")
        #expect(entries.first.map { [$0.localPort, $0.remotePort, $0.state, $0.timer, $0.timerTicks, $0.inode] }
            == [0xCF76, 0xC6C9, 1, 2, 0xAFC6C, 4242])
        let two = header + line(0, ticks: "000AFC6C", inode: 4242) + line(1, ticks: "000AFC6C", inode: 4343)
        #expect(LoopbackSockets.entries(in: two).map(\.inode) == [4242, 4343])
    }

    /// The kernel's view after a statement: the connection's keepalive timer fires within 2 s
    /// by default; without the setting libpq's own keepalive waits the kernel's two hours; a
    /// URL's own `keepalives_idle` wins.
    @Test func theConnectionsCarryTheKeepaliveTimerAndTheURLWins() async throws {
        let cluster = try await TestPostgres.makePrivateCluster()
        do {
            func sockets(_ client: PostgresClient) async throws -> [LoopbackSockets.Entry] {
                _ = try await client.query("SELECT 1 AS one")
                let entries = LoopbackSockets.established(toPort: cluster.port)
                await client.shutdown()
                return entries
            }
            let armed = try await sockets(Self.client(url: cluster.superuserURL))
            #expect(armed.count == 1 && armed.allSatisfy { $0.timer == 2 && $0.timerTicks <= 200 }, "\(armed)")
            let plain = try await sockets(Self.client(url: cluster.superuserURL, keepalive: nil))
            #expect(plain.count == 1 && plain.allSatisfy { $0.timer == 2 && $0.timerTicks > 700_000 }, "\(plain)")
            let separator = cluster.superuserURL.contains("?") ? "&" : "?"
            let ownIdle = try await sockets(Self.client(url: cluster.superuserURL + separator + "keepalives_idle=60"))
            #expect(ownIdle.count == 1 && ownIdle.allSatisfy { $0.timer == 2 && $0.timerTicks > 200 && $0.timerTicks <= 6_000 },
                    "\(ownIdle)")
        } catch {
            await TestPostgres.stopPrivateCluster(cluster)
            throw error
        }
        await TestPostgres.stopPrivateCluster(cluster)
    }

    /// On a private cluster, with one pooled connection already open: runs `sql` and drops
    /// every packet of the server's port, 0.5 s after the statement is written (`sentFirst`) or
    /// before it is. Returns how long the statement waited after the packets stopped and how it
    /// failed. A statement cannot be cancelled while it waits, so without the protection under
    /// test it would wait for minutes or hours: after 30 s a watchdog lets the packets through
    /// again and the test fails on the time instead of hanging. Afterwards the pool must serve
    /// the next statement.
    static func statementWhenTheServerVanishes(_ sql: PostgresQuery, sentFirst: Bool) async throws
        -> (waited: Duration, error: PostgresError?) {
        let cluster = try await TestPostgres.makePrivateCluster()
        let client = Self.client(url: cluster.superuserURL)
        do {
            _ = try await client.query("SELECT 1 AS one")
            var blackhole: LoopbackBlackhole?
            if !sentFirst { blackhole = try await LoopbackBlackhole.drop(port: cluster.port) }
            let statement = Task { () -> PostgresError? in
                do {
                    _ = try await client.query(sql)
                    return nil
                } catch let error as PostgresError {
                    return error
                }
            }
            if sentFirst {
                try await Task.sleep(for: .milliseconds(500))
                blackhole = try await LoopbackBlackhole.drop(port: cluster.port)
            }
            let vanishedAt = ContinuousClock.now
            let watchdog = Task { [blackhole] in
                try await Task.sleep(for: .seconds(30))
                await blackhole?.remove()
            }
            let error = try await statement.value
            let waited = ContinuousClock.now - vanishedAt
            watchdog.cancel()
            await blackhole?.remove()
            let after = try await client.query("SELECT 2 AS two")
            #expect(try after.first?.decode("two", as: Int.self) == 2)
            await client.shutdown()
            await TestPostgres.stopPrivateCluster(cluster)
            return (waited, error)
        } catch {
            await client.shutdown()
            await TestPostgres.stopPrivateCluster(cluster)
            throw error
        }
    }

    /// A statement in flight when every packet to and from the server starts being dropped (a
    /// database host killed with its network) fails within seconds: keepalive (2 s idle, 3
    /// probes 1 s apart). Needs root for `iptables` (CI runs as root).
    @Test(.enabled { await LoopbackBlackhole.isAvailable() }, .timeLimit(.minutes(3)))
    func aStatementToAServerThatVanishedFailsWithinSeconds() async throws {
        let (waited, error) = try await Self.statementWhenTheServerVanishes("SELECT pg_sleep(30)", sentFirst: true)
        #expect(error?.code == .connectionLost, "\(String(describing: error))")
        #expect(waited < .seconds(15), "the statement waited \(waited) after the server vanished")
    }

    /// A statement written to a pooled connection whose server is already gone: keepalive sends
    /// no probes while it is unacknowledged, so libpq's `tcp_user_timeout` (5 s) ends it.
    @Test(.enabled { await LoopbackBlackhole.isAvailable() }, .timeLimit(.minutes(3)))
    func aStatementWrittenToAServerAlreadyGoneFailsWithinSeconds() async throws {
        let (waited, error) = try await Self.statementWhenTheServerVanishes("SELECT 3 AS three", sentFirst: false)
        #expect(error?.code == .connectionLost, "\(String(describing: error))")
        #expect(waited < .seconds(15), "the statement waited \(waited)")
    }
}
