import Foundation
import Logging
import MovRService
import MovRTestSupport
import NIOPosix
import Testing
@testable import MovRGateway

/// Which TLS contexts give their record buffers back between records: the public listener, that
/// any number of idle clients may hold, does; the internal listener and the RPC client, whose
/// connections pools bound, keep them (docs/architecture.md §4).
@Suite(.timeLimit(.minutes(2)))
struct TLSBufferPolicyTests {
    @Test func onlyThePublicListenerReleasesIdleRecordBuffers() async throws {
        var logger = Logger(label: "movr.test.gateway")
        logger.logLevel = .critical
        try await withTestCertificates { certificates in
            let ca = try certificates.makeAuthority(name: "movr")
            let gateway = try certificates.issue(commonName: "gateway", dnsNames: ["gateway.movr.internal"], by: ca)
            _ = try certificates.issue(commonName: "localhost", dnsNames: ["localhost"], by: ca, file: "public")
            let settings = ServiceConfiguration(values: [
                "locality-config": GatewayHarness.localityPath,
                "region": "us-east1",
                "certs-dir": certificates.directory,
                "tls-ca": ca.certificatePath,
                "tls-cert": gateway.certificatePath,
                "tls-key": gateway.keyPath,
            ])
            let runtime = try ServiceRuntime(identity: .gateway, configuration: settings, logger: logger,
                                             eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            let service = try await GatewayService(runtime: runtime)
            #expect(service.publicTLS.current.releasesIdleBuffers)
            #expect(!runtime.internalServerTLS.current.releasesIdleBuffers)
            #expect(!runtime.clientTLS.current.releasesIdleBuffers)
            await runtime.rpcClients.shutdown()
        }
    }
}
