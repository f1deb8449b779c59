import Foundation
import Logging
import MovRRPC
import MovRRPCTransport
import MovRTLS
import MovRTestSupport
import NIOConcurrencyHelpers
import NIOPosix

/// Real certificates from one test CA: a "vehicles" server and "rides" / "gateway" clients.
struct TransportFixture {
    let certificates: TestCertificates
    let authority: TestCertificates.Authority
    let server: TestCertificates.Certificate
    let rides: TestCertificates.Certificate
    let gateway: TestCertificates.Certificate
    static let logger = Logger(label: "movr.transport.test")

    init() throws {
        certificates = try TestCertificates()
        authority = try certificates.makeAuthority(name: "deployment")
        server = try certificates.issue(commonName: "vehicles", dnsNames: ["vehicles.movr.internal"], by: authority)
        rides = try certificates.issue(commonName: "rides", dnsNames: ["rides.movr.internal"], by: authority)
        gateway = try certificates.issue(commonName: "gateway", dnsNames: ["gateway.movr.internal"], by: authority)
    }

    func startServer(dispatcher: RPCDispatcher, routes: RPCServerRoutes = RPCServerRoutes(),
                     configure: (inout RPCServerConfiguration) -> Void = { _ in }) async throws -> (RPCServer, Int) {
        var configuration = RPCServerConfiguration()
        configuration.shutdownGracePeriod = .seconds(5)
        // Generous, like the client's below: when the whole suite starts at once on two cores,
        // a test's client task can wait seconds for a thread between its handshake and its
        // request, and the default 10 s read timeout then closed the connection under a request
        // already sent (CI saw a 503 that way). Tests about read timeouts set their own.
        configuration.requestReadTimeout = .seconds(60)
        configure(&configuration)
        let tls = try TLSContextProvider(
            configuration: TLSConfiguration(certificateChainPath: server.certificatePath, privateKeyPath: server.keyPath,
                                            trustRootsPath: authority.certificatePath, requireClientCertificate: true),
            role: .server)
        let rpcServer = RPCServer(configuration: configuration, dispatcher: dispatcher, routes: routes, tls: tls,
                                  eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: Self.logger)
        let port = try await rpcServer.start()
        return (rpcServer, port)
    }

    func client(as identity: TestCertificates.Certificate?, port: Int, serverName: String = "vehicles.movr.internal",
                configure: (inout RPCClientConfiguration) -> Void = { _ in }) throws -> RPCClient {
        var configuration = RPCClientConfiguration()
        // Generous defaults: a debug build's first TLS handshakes on a loaded two-core machine can
        // take seconds. Tests about deadlines and timeouts set their own.
        configuration.defaultTimeout = .seconds(60)
        configuration.connectTimeout = .seconds(20)
        configure(&configuration)
        let tls = try TLSContextProvider(
            configuration: TLSConfiguration(certificateChainPath: identity?.certificatePath, privateKeyPath: identity?.keyPath,
                                            trustRootsPath: authority.certificatePath),
            role: .client)
        return RPCClient(endpoint: RPCEndpoint(host: "127.0.0.1", port: port, serverName: serverName), tls: tls,
                         eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration,
                         logger: Self.logger)
    }

    /// Runs curl as an independent HTTP/TLS client; returns (status, body).
    func curl(port: Int, path: String = "/rpc", method: String = "POST", contentType: String? = "application/json",
              body: Data? = nil, extra: [String] = []) async throws -> (Int, String) {
        var arguments = ["-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20",
                         "--cacert", authority.certificatePath, "--cert", gateway.certificatePath, "--key", gateway.keyPath,
                         "--resolve", "vehicles.movr.internal:\(port):127.0.0.1", "-X", method]
        if let contentType { arguments += ["-H", "Content-Type: \(contentType)"] }
        var bodyFile: String?
        if let body {
            let file = certificates.path("body-\(UUID().uuidString)")
            try body.write(to: URL(fileURLWithPath: file))
            bodyFile = file
            arguments += ["--data-binary", "@\(file)"]
        }
        arguments += extra
        arguments.append("https://vehicles.movr.internal:\(port)\(path)")
        let output = try await TestProcess.run("/usr/bin/curl", arguments)
        if let bodyFile { try? FileManager.default.removeItem(atPath: bodyFile) }
        let text = output.text
        guard let newline = text.lastIndex(of: "\n"), let status = Int(text[text.index(after: newline)...]) else {
            return (0, text)
        }
        return (status, String(text[..<newline]))
    }
}

struct Echo: Codable, Sendable, Equatable {
    var caller: String?
    var requestID: String
    var remainingMilliseconds: Int?
}

struct SleepParams: Codable, Sendable {
    var milliseconds: Int
}

/// Counts handler entries so a test can wait until a request is really in flight.
final class StartedRequests: Sendable {
    private let count = NIOLockedValueBox(0)
    func increment() { count.withLockedValue { $0 += 1 } }
    var value: Int { count.withLockedValue { $0 } }
}

extension RPCDispatcher {
    /// The methods the transport tests call.
    static func transportTest(started: StartedRequests = StartedRequests()) -> RPCDispatcher {
        var dispatcher = RPCDispatcher()
        dispatcher.register("test.echo", params: RPCEmptyParams.self) { _, context in
            Echo(caller: context.caller, requestID: context.requestID,
                 remainingMilliseconds: context.deadline.map { Int(($0 - .now).components.seconds * 1000) + Int(($0 - .now).components.attoseconds / 1_000_000_000_000_000) })
        }
        dispatcher.register("test.rides_only", params: RPCEmptyParams.self, allowedCallers: ["rides"]) { _, _ in RPCEmpty() }
        dispatcher.register("test.sleep", params: SleepParams.self) { params, _ in
            started.increment()
            try await Task.sleep(for: .milliseconds(params.milliseconds))
            return RPCEmpty()
        }
        return dispatcher
    }
}
