import Logging
@testable import MovRPostgres
import Testing

/// A client starts no threads until it is started or used, and a client shut down stays down.
@Suite struct ClientLifecycleTests {
    static func unreachableClient() -> PostgresClient {
        var configuration = PostgresConfiguration(url: "postgresql://movr@127.0.0.1:1/none?connect_timeout=2")
        configuration.poolSize = 2
        return PostgresClient(configuration: configuration, logger: Logger(label: "movr.test.lifecycle"))
    }

    @Test func creatingAClientStartsNothing() async {
        let client = Self.unreachableClient()
        #expect(!client.threadsStarted)
        await client.shutdown()
        #expect(!client.threadsStarted)
        // Shut down before it ever ran: a statement fails instead of starting the threads.
        await #expect(throws: (any Error).self) { try await client.execute("SELECT 1") }
        #expect(!client.threadsStarted)
    }

    @Test func startAndShutdownAreIdempotent() async {
        let client = Self.unreachableClient()
        client.start()
        client.start()
        #expect(client.threadsStarted)
        await client.shutdown()
        await client.shutdown()
        #expect(!client.threadsStarted)
        client.start()
        #expect(!client.threadsStarted)
    }

    @Test func theFirstStatementStartsTheThreads() async {
        let client = Self.unreachableClient()
        // Nobody listens on port 1: the statement fails, but it ran its connect on the threads.
        await #expect(throws: (any Error).self) { try await client.execute("SELECT 1") }
        #expect(client.threadsStarted)
        await client.shutdown()
    }
}
