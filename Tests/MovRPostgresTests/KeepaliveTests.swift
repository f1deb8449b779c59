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

    /// A statement written to a pooled connection whose server is already gone: no probes while
    /// it is unacknowledged, so libpq's `tcp_user_timeout` (5 s) is what ends it.
    @Test(.enabled { await LoopbackBlackhole.isAvailable() }, .timeLimit(.minutes(3)))
    func aStatementWrittenToAServerAlreadyGoneFailsWithinSeconds() async throws {
        let cluster = try await TestPostgres.makePrivateCluster()
        let client = Self.client(url: cluster.superuserURL)
        do {
            _ = try await client.query("SELECT 1 AS one")
            let blackhole = try await LoopbackBlackhole.drop(port: cluster.port)
            // Without the user timeout the statement would wait out TCP's retransmissions: the
            // server comes back after 30 s, so the test ends and fails instead of hanging.
            let watchdog = Task {
                try await Task.sleep(for: .seconds(30))
                await blackhole.remove()
            }
            let began = ContinuousClock.now
            var failure: PostgresError?
            do {
                _ = try await client.query("SELECT 2 AS two")
            } catch let error as PostgresError {
                failure = error
            }
            let waited = ContinuousClock.now - began
            watchdog.cancel()
            await blackhole.remove()
            #expect(failure?.code == .connectionLost, "\(String(describing: failure))")
            #expect(waited < .seconds(15), "the statement waited \(waited)")
        } catch {
            await client.shutdown()
            await TestPostgres.stopPrivateCluster(cluster)
            throw error
        }
        await client.shutdown()
        await TestPostgres.stopPrivateCluster(cluster)
    }

    /// A statement in flight when every packet to and from the server starts being dropped (a
    /// database host killed with its network) fails within seconds, not after the minutes TCP
    /// would otherwise wait; the pool then opens a fresh connection once the server is back.
    /// Needs root for `iptables` (CI runs as root).
    @Test(.enabled { await LoopbackBlackhole.isAvailable() }, .timeLimit(.minutes(3)))
    func aStatementToAServerThatVanishedFailsWithinSeconds() async throws {
        let cluster = try await TestPostgres.makePrivateCluster()
        let client = Self.client(url: cluster.superuserURL)
        do {
            _ = try await client.query("SELECT 1 AS one")
            let statement = Task {
                let began = ContinuousClock.now
                do {
                    _ = try await client.query("SELECT pg_sleep(30)")
                    return (ContinuousClock.now - began, PostgresError?.none)
                } catch let error as PostgresError {
                    return (ContinuousClock.now - began, Optional(error))
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            let blackhole = try await LoopbackBlackhole.drop(port: cluster.port)
            let vanishedAt = ContinuousClock.now
            // Without keepalive the statement would wait for hours (a statement cannot be
            // cancelled while it waits): after 30 s the server comes back, so the test ends and
            // fails on the time it waited instead of hanging.
            let watchdog = Task {
                try await Task.sleep(for: .seconds(30))
                await blackhole.remove()
            }
            let (_, error) = try await statement.value
            watchdog.cancel()
            let waited = ContinuousClock.now - vanishedAt
            await blackhole.remove()
            #expect(error?.code == .connectionLost, "\(String(describing: error))")
            #expect(waited < .seconds(15), "the statement waited \(waited) after the server vanished")
            let after = try await client.query("SELECT 2 AS two")
            #expect(try after.first?.decode("two", as: Int.self) == 2)
        } catch {
            await client.shutdown()
            await TestPostgres.stopPrivateCluster(cluster)
            throw error
        }
        await client.shutdown()
        await TestPostgres.stopPrivateCluster(cluster)
    }
}
