import Foundation
@testable import MovRTLS
import MovRTestSupport
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(2)))
struct TLSContextProviderTests {
    @Test func reloadServesReissuedCertificateToNewConnections() async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            let serviceName = "users.movr.internal"
            _ = try certificates.issue(commonName: "users-v1", dnsNames: [serviceName], by: authority, file: "users")
            let clientCertificate = try certificates.issue(commonName: "gateway.movr.internal", by: authority)
            let serverConfiguration = TLSConfiguration(
                certificateChainPath: certificates.path("users.pem"),
                privateKeyPath: certificates.path("users.key"),
                trustRootsPath: authority.certificatePath,
                requireClientCertificate: true)
            let provider = try TLSContextProvider(configuration: serverConfiguration, role: .server)
            let clientContext = try TLSContext.makeClient(TLSConfiguration(certificate: clientCertificate, trusting: authority))
            let server = try await TestServer.start { provider.current }
            var connections = server.connections.makeAsyncIterator()

            func serverNameSeenByClient() async throws -> String? {
                let client = try await TestClient.connect(port: server.port, context: clientContext, serverHostname: serviceName)
                let peer = try await waitFor(client.recorder.handshake.futureResult)
                try await client.channel.close()
                _ = try await client.recorder.finalOutcome()
                let accepted = try await connections.next(isolation: #isolation)
                _ = try #require(accepted)
                return peer?.commonName
            }

            #expect(try await serverNameSeenByClient() == "users-v1")
            #expect(try provider.reloadIfChanged() == false)
            // A rewrite is noticed by modification time and size: both are read.
            let fingerprint = try #require(FileFingerprint.of([certificates.path("users.pem")]).first)
            #expect(fingerprint.modificationDate != nil && (fingerprint.size ?? 0) > 0)

            let original = provider.current
            _ = try certificates.issue(commonName: "users-v2", dnsNames: [serviceName], by: authority, file: "users")
            #expect(try provider.reloadIfChanged() == true)
            #expect(provider.current !== original)
            #expect(try await serverNameSeenByClient() == "users-v2")

            // A broken key must not replace the working context.
            let working = provider.current
            try Data("not a key".utf8).write(to: URL(fileURLWithPath: certificates.path("users.key")))
            #expect(throws: TLSError.self) { try provider.reload() }
            #expect(provider.current === working)
            #expect(try await serverNameSeenByClient() == "users-v2")

            try await server.stop()
        }
    }
}
