import Foundation
import Logging
@testable import MovRPostgres
import MovRService
import MovRTestSupport
import NIOPosix
import Testing
@testable import MovRUsers

/// `init` builds the service without touching its database or starting threads; `prepare()`
/// is where the threads start and migrations run, so an unreachable database fails there.
@Suite struct UsersServiceLifecycleTests {
    @Test func initStartsNothingAndPrepareMeetsTheDatabase() async throws {
        var logger = Logger(label: "movr.test.users-lifecycle")
        logger.logLevel = .critical
        try await withTestCertificates { certificates in
            let ca = try certificates.makeAuthority(name: "movr")
            let usersCertificate = try certificates.issue(commonName: "users", dnsNames: ["users.movr.internal"], by: ca)
            let configuration = try ServiceConfiguration(
                environment: [:],
                arguments: ["--database-url", "postgresql://movr_users@127.0.0.1:1/movr_users?connect_timeout=2",
                            "--locality-config", UsersServiceTests.localityPath, "--region", "us-east1",
                            "--tls-ca", ca.certificatePath, "--tls-cert", usersCertificate.certificatePath,
                            "--tls-key", usersCertificate.keyPath, "--hash-threads", "1"],
                accepting: UsersService.settings)
            let runtime = try ServiceRuntime(identity: .users, configuration: configuration, logger: logger,
                                             eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            let service = try await UsersService(runtime: runtime)
            #expect(!service.store.database.threadsStarted)
            await #expect(throws: (any Error).self) { try await service.prepare() }
            #expect(service.store.database.threadsStarted)
            await service.shutdown()
            #expect(!service.store.database.threadsStarted)
            await runtime.rpcClients.shutdown()
        }
    }
}
