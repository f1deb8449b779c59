import Foundation
@testable import MovRTLS
import MovRTestSupport
import NIOCore
import Testing

/// Real handshakes over loopback sockets with certificates generated into a temp directory.
@Suite(.timeLimit(.minutes(2)))
struct TLSHandshakeTests {
    static let usersName = "users.movr.internal"
    static let gatewayName = "gateway.movr.internal"

    /// With OpenSSL's record buffers given back between records (the public listener's
    /// contexts) and kept (the internal ones'), both ways.
    @Test(arguments: [true, false])
    func mutualTLSHandshakeEchoesDataLargerThanARecord(releasesIdleBuffers: Bool) async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            let serverCertificate = try certificates.issue(commonName: Self.usersName, by: authority)
            let clientCertificate = try certificates.issue(commonName: Self.gatewayName, by: authority)
            var serverConfiguration = TLSConfiguration(certificate: serverCertificate, trusting: authority,
                                                       requireClientCertificate: true)
            serverConfiguration.releasesIdleBuffers = releasesIdleBuffers
            var clientConfiguration = TLSConfiguration(certificate: clientCertificate, trusting: authority)
            clientConfiguration.releasesIdleBuffers = releasesIdleBuffers
            let serverContext = try TLSContext.makeServer(serverConfiguration)
            let clientContext = try TLSContext.makeClient(clientConfiguration)
            #expect(serverContext.releasesIdleBuffers == releasesIdleBuffers)
            #expect(clientContext.releasesIdleBuffers == releasesIdleBuffers)
            let server = try await TestServer.start { serverContext }

            let payload = randomBytes(100 * 1024)
            let client = try await TestClient.connect(
                port: server.port, context: clientContext, serverHostname: Self.usersName,
                initialData: payload, expectedBytes: payload.count)

            let echoed = try await waitFor(client.recorder.received)
            #expect(Array(echoed.readableBytesView) == payload)
            var connections = server.connections.makeAsyncIterator()
            let serverSide = try #require(await connections.next())

            try await client.channel.close()
            let clientOutcome = try await client.recorder.finalOutcome()
            let serverOutcome = try await serverSide.finalOutcome()
            try await server.stop()

            #expect(clientOutcome.peer?.commonName == Self.usersName)
            #expect(clientOutcome.peer?.dnsNames == [Self.usersName])
            #expect(clientOutcome.handlerPeer == clientOutcome.peer)
            #expect(serverOutcome.peer?.serviceName == Self.gatewayName)
            #expect(serverOutcome.handlerPeer == serverOutcome.peer)
            #expect(serverOutcome.received.readableBytes == payload.count)
            #expect(clientOutcome.tlsErrors.isEmpty && serverOutcome.tlsErrors.isEmpty)
        }
    }

    @Test func serverRequiringClientCertificateRefusesClientWithout() async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            let serverCertificate = try certificates.issue(commonName: Self.usersName, by: authority)
            let outcome = try await exchange(
                server: TLSConfiguration(certificate: serverCertificate, trusting: authority, requireClientCertificate: true),
                client: TLSConfiguration(certificate: nil, trusting: authority),
                serverHostname: Self.usersName)

            #expect(!outcome.server.handshakeCompleted)
            #expect(outcome.server.errorCodes.contains(.handshakeFailed))
            #expect(outcome.server.received.readableBytes == 0)
            // In TLS 1.3 the client finishes before the server checks its certificate; it must
            // still see the server's alert and never get data back.
            #expect(outcome.client.errorCodes.contains(.io) || outcome.client.errorCodes.contains(.handshakeFailed))
            #expect(outcome.client.received.readableBytes == 0)
        }
    }

    @Test func clientCertificateFromAnotherAuthorityIsRefused() async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            let stranger = try certificates.makeAuthority(name: "stranger")
            let serverCertificate = try certificates.issue(commonName: Self.usersName, by: authority)
            let clientCertificate = try certificates.issue(commonName: Self.gatewayName, by: stranger)
            let outcome = try await exchange(
                server: TLSConfiguration(certificate: serverCertificate, trusting: authority, requireClientCertificate: true),
                client: TLSConfiguration(certificate: clientCertificate, trusting: authority),
                serverHostname: Self.usersName)

            #expect(!outcome.server.handshakeCompleted)
            #expect(outcome.server.errorCodes.contains(.certificateVerifyFailed))
            #expect(outcome.server.received.readableBytes == 0)
            #expect(!outcome.client.tlsErrors.isEmpty)
            #expect(outcome.client.received.readableBytes == 0)
        }
    }

    @Test func serverCertificateFromAnotherAuthorityIsRefused() async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            let stranger = try certificates.makeAuthority(name: "stranger")
            let serverCertificate = try certificates.issue(commonName: Self.usersName, by: stranger)
            let clientCertificate = try certificates.issue(commonName: Self.gatewayName, by: authority)
            let outcome = try await exchange(
                server: TLSConfiguration(certificate: serverCertificate, trusting: authority, requireClientCertificate: true),
                client: TLSConfiguration(certificate: clientCertificate, trusting: authority),
                serverHostname: Self.usersName)

            #expect(!outcome.client.handshakeCompleted)
            #expect(outcome.client.errorCodes == [.certificateVerifyFailed])
            #expect(!outcome.server.handshakeCompleted)
            #expect(outcome.server.received.readableBytes == 0)
        }
    }

    @Test func expiredServerCertificateIsRefused() async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            let expired = try certificates.issue(
                commonName: Self.usersName, by: authority, notBefore: .now - 2 * 86_400, notAfter: .now - 86_400)
            let clientCertificate = try certificates.issue(commonName: Self.gatewayName, by: authority)
            let outcome = try await exchange(
                server: TLSConfiguration(certificate: expired, trusting: authority, requireClientCertificate: true),
                client: TLSConfiguration(certificate: clientCertificate, trusting: authority),
                serverHostname: Self.usersName)

            #expect(!outcome.client.handshakeCompleted)
            #expect(outcome.client.errorCodes == [.certificateVerifyFailed])
            #expect(outcome.client.tlsErrors.first?.message.contains("expired") == true)
            #expect(outcome.server.received.readableBytes == 0)
        }
    }

    @Test func expiredClientCertificateIsRefused() async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            let serverCertificate = try certificates.issue(commonName: Self.usersName, by: authority)
            let expired = try certificates.issue(
                commonName: Self.gatewayName, by: authority, notBefore: .now - 2 * 86_400, notAfter: .now - 86_400)
            let outcome = try await exchange(
                server: TLSConfiguration(certificate: serverCertificate, trusting: authority, requireClientCertificate: true),
                client: TLSConfiguration(certificate: expired, trusting: authority),
                serverHostname: Self.usersName)

            #expect(!outcome.server.handshakeCompleted)
            #expect(outcome.server.errorCodes == [.certificateVerifyFailed])
            #expect(outcome.server.tlsErrors.first?.message.contains("expired") == true)
            #expect(outcome.server.received.readableBytes == 0)
            #expect(outcome.client.received.readableBytes == 0)
        }
    }

    @Test func serverNameMismatchIsRefused() async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            let serverCertificate = try certificates.issue(commonName: Self.usersName, by: authority)
            let clientCertificate = try certificates.issue(commonName: Self.gatewayName, by: authority)
            let server = TLSConfiguration(certificate: serverCertificate, trusting: authority, requireClientCertificate: true)
            let client = TLSConfiguration(certificate: clientCertificate, trusting: authority)

            let mismatch = try await exchange(server: server, client: client, serverHostname: "vehicles.movr.internal")
            #expect(!mismatch.client.handshakeCompleted)
            #expect(mismatch.client.errorCodes == [.certificateVerifyFailed])
            #expect(mismatch.server.received.readableBytes == 0)

            // Control: the same certificates pass when the name (here the IP SAN) matches.
            let match = try await exchange(server: server, client: client, serverHostname: "127.0.0.1")
            #expect(match.client.handshakeCompleted)
            #expect(match.client.received == ByteBuffer(bytes: Self.greeting))
        }
    }

    @Test func tls12OnlyClientIsRefusedByTLS13Server() async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            let serverCertificate = try certificates.issue(commonName: Self.usersName, by: authority)
            let clientCertificate = try certificates.issue(commonName: Self.gatewayName, by: authority)
            var server = TLSConfiguration(certificate: serverCertificate, trusting: authority, requireClientCertificate: true)
            var oldClient = TLSConfiguration(certificate: clientCertificate, trusting: authority)
            oldClient.minimumVersion = .tls12
            oldClient.maximumVersion = .tls12

            let refused = try await exchange(server: server, client: oldClient, serverHostname: Self.usersName)
            #expect(!refused.server.handshakeCompleted)
            #expect(refused.server.errorCodes == [.handshakeFailed])
            #expect(!refused.client.handshakeCompleted)
            #expect(!refused.client.tlsErrors.isEmpty)
            #expect(refused.server.received.readableBytes == 0)

            // Control: the same client is served once the server allows TLS 1.2.
            server.minimumVersion = .tls12
            let accepted = try await exchange(server: server, client: oldClient, serverHostname: Self.usersName)
            #expect(accepted.server.peer?.commonName == Self.gatewayName)
            #expect(accepted.client.received == ByteBuffer(bytes: Self.greeting))
        }
    }

    enum Garbage: String, CaseIterable, Sendable {
        case plaintextHTTP, oversizedHandshakeRecord, truncatedHandshakeRecord, unsolicitedAlert

        var bytes: [UInt8] {
            switch self {
            case .plaintextHTTP: Array("GET / HTTP/1.1\r\nHost: users.movr.internal\r\n\r\n".utf8) + randomBytes(4096)
            case .oversizedHandshakeRecord: [0x16, 0x03, 0x01, 0xFF, 0xFF] + randomBytes(300)
            // Announces 512 bytes but sends 300: the server can only wait for the rest.
            case .truncatedHandshakeRecord: [0x16, 0x03, 0x01, 0x02, 0x00] + randomBytes(300)
            case .unsolicitedAlert: [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]
            }
        }
    }

    @Test(arguments: Garbage.allCases)
    func garbageFromClientClosesTheConnection(garbage: Garbage) async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            let serverCertificate = try certificates.issue(commonName: Self.usersName, by: authority)
            let serverContext = try TLSContext.makeServer(
                TLSConfiguration(certificate: serverCertificate, trusting: authority, requireClientCertificate: true))
            let server = try await TestServer.start { serverContext }
            let client = try await TestClient.connect(port: server.port, context: nil, initialData: garbage.bytes)
            var connections = server.connections.makeAsyncIterator()
            let serverSide = try #require(await connections.next())
            // A truncated record leaves the server waiting for more; the client hanging up ends it.
            if garbage == .truncatedHandshakeRecord {
                try await client.channel.close()
            }
            let serverOutcome = try await serverSide.finalOutcome()
            let clientOutcome = try await client.recorder.finalOutcome()
            try await server.stop()

            #expect(!serverOutcome.handshakeCompleted)
            #expect(serverOutcome.errorCodes == [.handshakeFailed], "\(serverOutcome.tlsErrors)")
            #expect(serverOutcome.received.readableBytes == 0)
            #expect(clientOutcome.closed)
        }
    }

    // MARK: Helpers

    static let greeting = Array("hello users".utf8)

    struct ExchangeOutcome {
        var client: ConnectionOutcome
        var server: ConnectionOutcome
    }

    /// Connects once, sends a greeting before the handshake finishes and collects both ends' outcomes after the
    /// echo arrived or the connection broke.
    private func exchange(server: TLSConfiguration, client: TLSConfiguration, serverHostname: String?) async throws -> ExchangeOutcome {
        let serverContext = try TLSContext.makeServer(server)
        let clientContext = try TLSContext.makeClient(client)
        let testServer = try await TestServer.start { serverContext }
        let testClient = try await TestClient.connect(
            port: testServer.port, context: clientContext, serverHostname: serverHostname,
            initialData: Self.greeting, expectedBytes: Self.greeting.count)
        _ = try? await waitFor(testClient.recorder.received)
        var connections = testServer.connections.makeAsyncIterator()
        let serverSide = try #require(await connections.next())
        try? await testClient.channel.close()
        let outcome = ExchangeOutcome(
            client: try await testClient.recorder.finalOutcome(),
            server: try await serverSide.finalOutcome())
        try await testServer.stop()
        return outcome
    }
}
