import Foundation
import MovRTestSupport
import MovRTool
import Testing

/// The public HTTPS listener has an identity of its own: the certificate it serves is not the
/// internal `gateway` identity (which the services trust to assert a user id), and its key
/// cannot be used as a client certificate against a service. curl is the client.
@Suite struct PublicIdentityTests {
    static func curl(_ arguments: [String]) async throws -> TestProcess.Output {
        try await TestProcess.run("/usr/bin/curl", ["-sS", "--max-time", "20"] + arguments)
    }

    @Test func theGatewayServesThePublicCertificateOnly() async throws {
        let stack = try await LocalStackHarness.shared.start()
        let gateway = try stack.topology.url(of: .gateway, in: stack.primaryRegion)
        let served = try await Self.curl(["-v", "-o", "/dev/null", "--cacert", stack.ca, gateway + "/healthz"])
        #expect(served.status == 0, "\(served.text)")
        #expect(served.text.contains("CN=\(CertificateSetup.publicCommonName)"), "\(served.text)")
        #expect(!served.text.contains("CN=gateway"), "\(served.text)")
    }

    @Test func thePublicKeyIsNoClientIdentityForTheServices() async throws {
        let stack = try await LocalStackHarness.shared.start()
        let certs = URL(fileURLWithPath: stack.ca).deletingLastPathComponent().path
        let vehicles = try stack.topology.url(of: .vehicles, in: stack.primaryRegion)
        let host = "vehicles.movr.internal"
        let port = URL(string: vehicles)?.port ?? 0
        let body = #"{"jsonrpc":"2.0","id":1,"method":"system.ping","params":{}}"#
        func call(certificate: String, key: String) async throws -> TestProcess.Output {
            try await Self.curl(["-o", "-", "-w", "\n%{http_code}", "--cacert", stack.ca, "--cert", certificate,
                                 "--key", key, "--resolve", "\(host):\(port):127.0.0.1",
                                 "-H", "Content-Type: application/json", "--data-binary", body,
                                 "https://\(host):\(port)/rpc"])
        }
        // The operator's certificate is a client identity: the same call goes through...
        let allowed = try await call(certificate: stack.clientCertificate, key: stack.clientKey)
        #expect(allowed.status == 0 && allowed.text.hasSuffix("200"), "\(allowed.text)")
        // ...the public listener's key is refused in the handshake (server-only key usage).
        let refused = try await call(certificate: "\(certs)/public.pem", key: "\(certs)/public.key")
        #expect(refused.status != 0, "\(refused.text)")
        #expect(!refused.text.hasSuffix("200"), "\(refused.text)")
    }

    @Test func thePublicListenerSendsHSTSAndOffersOnlyAEADSuitesOverTLS12() async throws {
        let stack = try await LocalStackHarness.shared.start()
        let gateway = try stack.topology.url(of: .gateway, in: stack.primaryRegion)
        let headers = try await Self.curl(["-v", "-o", "/dev/null", "--cacert", stack.ca, gateway + "/healthz"])
        #expect(headers.text.lowercased().contains("strict-transport-security: max-age="), "\(headers.text)")
        #expect(headers.text.lowercased().contains("x-content-type-options: nosniff"), "\(headers.text)")
        // TLS 1.2 with a forward-secret AEAD suite works; a CBC suite is refused in the handshake.
        let aead = try await Self.curl(["-o", "/dev/null", "--cacert", stack.ca, "--tls-max", "1.2",
                                        "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256", gateway + "/healthz"])
        #expect(aead.status == 0, "\(aead.text)")
        let cbc = try await Self.curl(["-o", "/dev/null", "--cacert", stack.ca, "--tls-max", "1.2",
                                       "--ciphers", "ECDHE-ECDSA-AES128-SHA", gateway + "/healthz"])
        #expect(cbc.status != 0, "\(cbc.text)")
    }
}
