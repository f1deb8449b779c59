import Logging
import MovRInternalAPI
import MovRRPCTransport
import MovRTLS
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// The RPC clients of one executable, one per (service, region), made on first use from the
/// configured addresses (`--<service>-url` for this region, else `--topology`) and kept. As a
/// lifecycle `Service` it lives until the group shuts down, then closes every client; placed
/// first in the group, it closes last, after everything that calls out has stopped.
public final class RPCClients: Service, Sendable {
    let configuration: ServiceConfiguration
    let region: String
    let topology: Topology?
    let tls: TLSContextProvider
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let clients = NIOLockedValueBox<[String: RPCClient]>([:])

    public init(configuration: ServiceConfiguration, region: String, topology: Topology?, tls: TLSContextProvider,
                eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.region = region
        self.topology = topology
        self.tls = tls
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// How clients between executables pool: an idle connection is refreshed (`GET /healthz`)
    /// once idle 25 s (checked every 12.5 s), and one not refreshed is dropped at 50 s, under the internal listeners' 60 s
    /// idle timeout (so none is reused as the server closes it). The pool keeps the size its
    /// busiest moment needed: a lull does not make the next burst pay a mutual-TLS handshake
    /// per connection (the public default, 10 s without refresh, is bound by the public
    /// listener's 15 s).
    public static let clientConfiguration: RPCClientConfiguration = {
        var configuration = RPCClientConfiguration()
        configuration.idleTimeout = .seconds(50)
        configuration.keepsIdleConnectionsOpen = true
        return configuration
    }()

    /// The client for `service` in `region` (default: this region), created once and reused.
    public func client(for service: ServiceIdentity, region: String? = nil) throws -> RPCClient {
        let region = region ?? self.region
        let key = "\(service.rawValue)@\(region)"
        if let existing = clients.withLockedValue({ $0[key] }) { return existing }
        let url: String
        if let setting = SharedSettings.url(of: service), let explicit = try configuration.value(setting),
           region == self.region {
            url = explicit
        } else if let topology {
            url = try topology.url(of: service, in: region)
        } else {
            throw ConfigurationError(message: "no address for \(service.rawValue) in \(region): set --\(service.rawValue)-url or --topology")
        }
        let endpoint = try RPCEndpoint(url: url, serverName: service.serverName)
        let client = RPCClient(endpoint: endpoint, tls: tls, eventLoopGroup: eventLoopGroup,
                               configuration: Self.clientConfiguration, logger: logger)
        return clients.withLockedValue { clients in
            if let raced = clients[key] { return raced }
            clients[key] = client
            return client
        }
    }

    /// Every client made so far.
    public var all: [RPCClient] {
        clients.withLockedValue { Array($0.values) }
    }

    /// Waits for the group's graceful shutdown (or cancellation), then closes every client.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes every client made so far (idempotent).
    public func shutdown() async {
        for client in all {
            await client.shutdown()
        }
    }
}
