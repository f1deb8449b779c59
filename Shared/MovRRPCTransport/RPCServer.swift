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
            configuration: configuration, dispatcher: dispatcher, routes: routes, logger: logger,
            metrics: ServerMetrics(),
            readiness: ReadinessCache(check: routes.readiness, validFor: configuration.readinessCacheDuration))
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
            // IPPROTO_TCP level: `.socketOption(.tcp_nodelay)` would set SOL_SOCKET option 1, SO_DEBUG,
            // which needs CAP_NET_ADMIN and fails every connection of an unprivileged process.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
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

    /// Number of open connections from `peer` (an IP address).
    public func openConnections(from peer: String) -> Int { connections.count(of: peer) }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), then closes
    /// every connection. Idle keep-alive connections close at once; a busy one closes after
    /// sending its answer. Waits without polling, and returns promptly if the calling task is
    /// cancelled (then closing everything still open).
    public func shutdownGracefully() async {
        let channel = listener.withLockedValue { value -> (any Channel)? in
            defer { value = nil }
            return value
        }
        try? await channel?.close()
        let openAtStop = connections.count
        connections.quiesceAll()
        let grace = environment.configuration.shutdownGracePeriod
        let timeout = group.next().scheduleTask(in: .nanoseconds(grace.nanosecondsClamped)) { [connections] in
            connections.stopWaiting()
        }
        await withTaskCancellationHandler {
            await connections.waitUntilEmpty()
        } onCancel: { [connections] in
            connections.stopWaiting()
        }
        timeout.cancel()
        // Idle connections close at once when quiesced; one still open here has a request in
        // flight, which closing cuts off. Fault tests (`make test-faults`) read this line.
        let cutOff = connections.count
        environment.logger.notice("drained", metadata: ["connections_at_stop": "\(openAtStop)",
                                                          "connections_cut_off": "\(cutOff)"])
        connections.closeAll()
    }

    private func configureConnection(_ channel: any Channel) throws {
        let configuration = environment.configuration
        let peer = channel.remoteAddress?.ipAddress
        let perClient = peer.map { configuration.trustedProxies.contains($0) } == true ? 0 : configuration.maxConnectionsPerClient
        switch connections.admit(channel, peer: peer, limit: configuration.maxConnections, perClientLimit: perClient) {
        case .admitted:
            break
        case .serverFull:
            environment.logger.warning("connection refused: connection limit reached")
            environment.metrics.refusedConnection(reason: "server_full").increment()
            throw ConnectionLimitReached()
        case .clientFull:
            // Not logged per connection: a flood would flood the log too.
            environment.metrics.refusedConnection(reason: "client_full").increment()
            throw ConnectionLimitReached()
        }
        channel.closeFuture.whenComplete { [connections] _ in connections.remove(channel, peer: peer) }
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(TLSHandler(serverContext: tls.current))
        try RPCHTTPPipeline(environment: environment).configure(channel)
    }
}

/// The HTTP half of every ``RPCServer`` connection: NIO's HTTP/1.1 request decoder and MovR's
/// RPC handler (which writes responses itself and queues pipelined requests), exactly as the
/// server adds them after its `TLSHandler`.
///
/// Public only as a seam for the HTTP fuzzer (Fuzz/Sources/FuzzHTTP), which drives it over an
/// `EmbeddedChannel` without TLS or connection limits; servers use ``RPCServer``.
public struct RPCHTTPPipeline: Sendable {
    let environment: ConnectionEnvironment

    init(environment: ConnectionEnvironment) {
        self.environment = environment
    }

    public init(configuration: RPCServerConfiguration, dispatcher: RPCDispatcher,
                routes: RPCServerRoutes = RPCServerRoutes(), logger: Logger) {
        self.init(environment: ConnectionEnvironment(
            configuration: configuration, dispatcher: dispatcher, routes: routes, logger: logger,
            metrics: ServerMetrics(),
            readiness: ReadinessCache(check: routes.readiness, validFor: configuration.readinessCacheDuration)))
    }

    /// Adds the HTTP handlers to `channel`'s pipeline; call on its event loop.
    public func configure(_ channel: any Channel) throws {
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
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
    let metrics: ServerMetrics
    let readiness: ReadinessCache
    /// The configuration's `responseHeaders` as the lines every response carries, checked and
    /// written once instead of per response; a header that cannot be sent is logged here and
    /// left out.
    let responseHeaderLines: ByteBuffer

    init(configuration: RPCServerConfiguration, dispatcher: RPCDispatcher, routes: RPCServerRoutes, logger: Logger,
         metrics: ServerMetrics, readiness: ReadinessCache) {
        self.configuration = configuration
        self.dispatcher = dispatcher
        self.routes = routes
        self.logger = logger
        self.metrics = metrics
        self.readiness = readiness
        var lines = ByteBuffer()
        for (name, value) in configuration.responseHeaders {
            do {
                try HTTPWire.writeHeader(name, value, into: &lines)
            } catch {
                logger.error("response header left out", metadata: ["error": "\(error)"])
            }
        }
        responseHeaderLines = lines
    }
}

/// Sent down every open connection when the server shuts down.
struct QuiesceEvent: Sendable {}

/// The open connections of one server, for the connection cap and graceful shutdown.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        /// Open connections per peer address (only addresses with at least one).
        var perPeer: [String: Int] = [:]
        /// Shutdown waiting for the last connection to go.
        var emptyWaiters: [CheckedContinuation<Void, Never>] = []
        var stoppedWaiting = false
    }

    private let state = NIOLockedValueBox(State())

    var count: Int { state.withLockedValue { $0.channels.count } }

    enum Admission {
        case admitted
        case serverFull
        case clientFull
    }

    /// Registers `channel` unless the server has `limit` connections or `peer` has
    /// `perClientLimit` (0: no per-client cap).
    func admit(_ channel: any Channel, peer: String?, limit: Int, perClientLimit: Int) -> Admission {
        state.withLockedValue { state in
            guard state.channels.count < limit else { return .serverFull }
            if let peer {
                let open = state.perPeer[peer, default: 0]
                if perClientLimit > 0, open >= perClientLimit { return .clientFull }
                state.perPeer[peer] = open + 1
            }
            state.channels[ObjectIdentifier(channel)] = channel
            return .admitted
        }
    }

    /// Open connections of `peer` (for tests and metrics).
    func count(of peer: String) -> Int {
        state.withLockedValue { $0.perPeer[peer, default: 0] }
    }

    func remove(_ channel: any Channel, peer: String?) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            guard state.channels.removeValue(forKey: ObjectIdentifier(channel)) != nil else { return [] }
            if let peer {
                let open = state.perPeer[peer, default: 1] - 1
                state.perPeer[peer] = open > 0 ? open : nil
            }
            guard state.channels.isEmpty else { return [] }
            defer { state.emptyWaiters = [] }
            return state.emptyWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func quiesceAll() {
        for channel in state.withLockedValue({ Array($0.channels.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(QuiesceEvent())
        }
    }

    func closeAll() {
        for channel in state.withLockedValue({ Array($0.channels.values) }) {
            channel.close(promise: nil)
        }
    }

    /// Returns when no connection is left, or once ``stopWaiting()`` was called.
    func waitUntilEmpty() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { state -> Bool in
                if state.channels.isEmpty || state.stoppedWaiting { return true }
                state.emptyWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Releases every ``waitUntilEmpty()`` (grace period over, or the waiter was cancelled).
    func stopWaiting() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.stoppedWaiting = true
            defer { state.emptyWaiters = [] }
            return state.emptyWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
