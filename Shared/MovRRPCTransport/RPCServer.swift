import Logging
import MovRRPC
import MovRTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// JSON-RPC 2.0 over HTTP/1.1 over TLS (OpenSSL via ``TLSHandler``).
///
/// Serves `POST /rpc` through an ``RPCDispatcher`` and `GET /healthz`, `/readyz`, `/metrics` and
/// static content through ``RPCServerRoutes``. Every connection is TLS; on internal listeners the
/// context provider requires a client certificate and the caller's identity comes from it.
public final class RPCServer: Sendable {
    private let environment: ConnectionEnvironment
    private let tls: TLSContextProvider
    private let group: any EventLoopGroup
    private let connections = ConnectionRegistry()
    private let listener = NIOLockedValueBox<(any Channel)?>(nil)

    public init(
        configuration: RPCServerConfiguration,
        dispatcher: RPCDispatcher,
        routes: RPCServerRoutes = RPCServerRoutes(),
        tls: TLSContextProvider,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) {
        self.environment = ConnectionEnvironment(
            configuration: configuration, dispatcher: dispatcher, routes: routes, logger: logger)
        self.tls = tls
        self.group = eventLoopGroup
    }

    /// Binds and starts accepting; returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        let configuration = environment.configuration
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.configureConnection(channel) }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        listener.withLockedValue { $0 = channel }
        environment.logger.info("listening", metadata: [
            "address": "\(configuration.host):\(channel.localAddress?.port ?? configuration.port)"
        ])
        return channel.localAddress?.port ?? configuration.port
    }

    /// The bound port, once started.
    public var localPort: Int? {
        listener.withLockedValue { $0?.localAddress?.port }
    }

    /// Number of open client connections (for metrics and tests).
    public var openConnections: Int { connections.count }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), then closes
    /// every connection.
    public func shutdownGracefully() async {
        let channel = listener.withLockedValue { value -> (any Channel)? in
            defer { value = nil }
            return value
        }
        try? await channel?.close()
        connections.quiesceAll()
        let deadline = ContinuousClock.now + environment.configuration.shutdownGracePeriod
        while connections.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        connections.closeAll()
    }

    private func configureConnection(_ channel: any Channel) throws {
        guard connections.admit(channel, limit: environment.configuration.maxConnections) else {
            environment.logger.warning("connection refused: connection limit reached")
            throw ConnectionLimitReached()
        }
        channel.closeFuture.whenComplete { [connections] _ in connections.remove(channel) }
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(TLSHandler(serverContext: tls.current))
        try operations.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
        try operations.addHandler(RPCHTTPHandler(environment: environment))
    }
}

struct ConnectionLimitReached: Error {}

/// What every connection handler of one server shares.
struct ConnectionEnvironment: Sendable {
    let configuration: RPCServerConfiguration
    let dispatcher: RPCDispatcher
    let routes: RPCServerRoutes
    let logger: Logger
}

/// Sent down every open connection when the server shuts down.
struct QuiesceEvent: Sendable {}

/// The open connections of one server, for the connection cap and graceful shutdown.
final class ConnectionRegistry: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

    var count: Int { channels.withLockedValue { $0.count } }

    func admit(_ channel: any Channel, limit: Int) -> Bool {
        channels.withLockedValue { open in
            guard open.count < limit else { return false }
            open[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        _ = channels.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func quiesceAll() {
        for channel in channels.withLockedValue({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(QuiesceEvent())
        }
    }

    func closeAll() {
        for channel in channels.withLockedValue({ Array($0.values) }) {
            channel.close(promise: nil)
        }
    }
}
