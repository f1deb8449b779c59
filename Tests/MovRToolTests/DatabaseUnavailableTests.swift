import Logging
import MovRPostgres
import MovRRPC
import MovRService
import MovRServiceDatabase
import Testing

/// A database that cannot be reached is a retryable 503 for clients, not an internal error
/// (make test-faults restarts PostgreSQL under load and fails on any non-retryable answer).
@Suite struct DatabaseUnavailableTests {
    @Test func aRefusedConnectionAnswers503() async throws {
        // Port 1 on loopback: nothing listens, libpq's connect is refused.
        let client = PostgresClient(configuration: PostgresConfiguration(url: "postgresql://postgres@127.0.0.1:1/postgres",
                                                                        poolSize: 1),
                                    logger: Logger(label: "test"))
        defer { Task { await client.shutdown() } }
        do {
            _ = try await client.query("SELECT 1")
            Issue.record("a query on a closed port succeeded")
        } catch {
            let answer = try #require(DatabaseUnavailable.answer(for: error))
            #expect(answer.code == 503)
            #expect(answer.data?.reason == "database_unavailable")
            #expect(answer.data?.retryable == true)
        }
    }

    @Test func shutdownStatesAreUnavailableOtherServerErrorsAreNot() {
        #expect(DatabaseUnavailable.answer(for: PostgresError(code: .server, sqlState: "57P01"))?.code == 503)
        #expect(DatabaseUnavailable.answer(for: PostgresError(code: .server, sqlState: "08006"))?.code == 503)
        #expect(DatabaseUnavailable.answer(for: PostgresError(code: .connectionLost))?.code == 503)
        #expect(DatabaseUnavailable.answer(for: PostgresError(code: .server, sqlState: "23505")) == nil)
        #expect(DatabaseUnavailable.answer(for: PostgresError(code: .decoding)) == nil)
        #expect(DatabaseUnavailable.answer(for: CancellationError()) == nil)
    }
}
