import ArgumentParser
import Foundation
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import MovRService
import MovRTLS
import NIOPosix

extension MovRCommand {
    /// `movr health <identity>`: the container health check. Asks the executable's `/readyz`
    /// (ready = its database or its services answer) over the same TLS its clients use: a
    /// gateway on its public listener, a service over mutual TLS presenting the service's own
    /// certificate. Settings come from the same `MOVR_*` variables the executable reads.
    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exit 0 when the executable in this container answers /readyz with 200 (container HEALTHCHECK).")

        @Argument(help: "gateway, users, vehicles or rides.")
        var identity: String
        @Option(help: "Base URL (default: https://127.0.0.1:<port of MOVR_LISTEN>).")
        var url: String?
        @Option(help: "Certificate directory (default: MOVR_CERTS_DIR, else .movr/certs).")
        var certsDir: String?
        @Option(help: "Seconds to wait for the answer.")
        var timeout = 3

        func run() async throws {
            guard let identity = ServiceIdentity(rawValue: identity), identity != .operator else {
                throw ValidationError("identity must be gateway, users, vehicles or rides")
            }
            let environment = ProcessInfo.processInfo.environment
            let certs = certsDir ?? environment["MOVR_CERTS_DIR"] ?? ".movr/certs"
            let base: String
            if let url {
                base = url
            } else {
                let listen = environment["MOVR_LISTEN"] ?? "127.0.0.1:\(identity.defaultPort)"
                let (_, port) = try ServiceRuntime.hostAndPort(listen)
                base = "https://127.0.0.1:\(port)"
            }
            // The public listener's certificate names 127.0.0.1; internal ones name <identity>.movr.internal.
            let isGateway = identity == .gateway
            let tls = try TLSContextProvider(
                configuration: TLSConfiguration(
                    certificateChainPath: isGateway ? nil : "\(certs)/\(identity.rawValue).pem",
                    privateKeyPath: isGateway ? nil : "\(certs)/\(identity.rawValue).key",
                    trustRootsPath: environment["MOVR_TLS_CA"] ?? "\(certs)/ca.pem"),
                role: .client)
            let client = RPCClient(endpoint: try RPCEndpoint(url: base, serverName: isGateway ? nil : identity.serverName),
                                   tls: tls, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                                   logger: MovRCommand.logger("critical"))
            let status: Int
            do {
                status = try await client.probe(path: "/readyz", deadline: .now + .seconds(max(1, timeout)))
            } catch {
                await client.shutdown()
                Swift.print("\(identity.rawValue): unreachable at \(base) (\(error))")
                throw ExitCode(1)
            }
            await client.shutdown()
            guard status == 200 else {
                Swift.print("\(identity.rawValue): /readyz answered \(status)")
                throw ExitCode(1)
            }
            Swift.print("\(identity.rawValue): ready")
        }
    }
}
