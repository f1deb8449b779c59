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
    let metrics: ServerMetrics
    let readiness: ReadinessCache
}

/// Sent down every open connection when the server shuts down.
struct QuiesceEvent: Sendable {}

/// The open connections of one server, for the connection cap and graceful shutdown.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        /// Shutdown waiting for the last connection to go.
        var emptyWaiters: [CheckedContinuation<Void, Never>] = []
        var stoppedWaiting = false
    }

    private let state = NIOLockedValueBox(State())

    var count: Int { state.withLockedValue { $0.channels.count } }

    func admit(_ channel: any Channel, limit: Int) -> Bool {
        state.withLockedValue { state in
            guard state.channels.count < limit else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.channels.removeValue(forKey: ObjectIdentifier(channel))
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
