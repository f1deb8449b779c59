import FoundationEssentials
import Logging
import Metrics
import MovRInternalAPI
import MovRLocality
import MovRRPC
import MovRRPCTransport
import MovRTLS
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

/// What every MovR executable is given at start: its identity and region, configuration,
/// logger, locality map, TLS material, event loops, a metrics registry, and the directory of RPC
/// clients to other services. A definition's `init(runtime:)` reads what it needs from here and
/// hands its parts explicit dependencies (the users, vehicles and rides services and the
/// gateway's `PublicAPI` also have initializers taking them directly, which tests use).
public final class ServiceRuntime: Sendable {
    public let identity: ServiceIdentity
    public let configuration: ServiceConfiguration
    public let region: String
    public let logger: Logger
    public let locality: Locality
    public let eventLoopGroup: any EventLoopGroup
    /// Server side of the internal (mutual TLS) listener.
    public let internalServerTLS: TLSContextProvider
    /// Client side for calls to other services (presents this executable's certificate).
    public let clientTLS: TLSContextProvider
    public let topology: Topology?
    public let metrics: PrometheusCollectorRegistry
    /// The RPC clients to other services, made on first use; a lifecycle service of its own.
    public let rpcClients: RPCClients

    public init(identity: ServiceIdentity, configuration: ServiceConfiguration, logger: Logger,
                metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.identity = identity
        self.configuration = configuration
        self.metrics = metrics
        self.eventLoopGroup = eventLoopGroup

        let locality = try configuration.value(SharedSettings.localityConfig).map { try Locality.load(from: $0) }
            ?? Locality.loadDefault()
        let region = try configuration.value(SharedSettings.region) ?? locality.primaryRegion
        guard locality.region(named: region) != nil else {
            throw ConfigurationError(message: "region '\(region)' is not in the locality map")
        }
        self.locality = locality
        self.region = region
        var logger = logger
        logger[metadataKey: "service"] = "\(identity.rawValue)"
        logger[metadataKey: "region"] = "\(region)"
        self.logger = logger

        let tls = try Self.tlsConfiguration(configuration, identity: identity)
        internalServerTLS = try TLSContextProvider(
            configuration: TLSConfiguration(
                certificateChainPath: tls.certificate, privateKeyPath: tls.key, trustRootsPath: tls.ca,
                requireClientCertificate: true, minimumVersion: .tls13, releasesIdleBuffers: false),
            role: .server)
        clientTLS = try TLSContextProvider(
            configuration: TLSConfiguration(
                certificateChainPath: tls.certificate, privateKeyPath: tls.key, trustRootsPath: tls.ca,
                minimumVersion: .tls13, releasesIdleBuffers: false),
            role: .client)
        let topology = try configuration.value(SharedSettings.topology).map { try Topology.load(path: $0) }
        self.topology = topology
        rpcClients = RPCClients(configuration: configuration, region: region, topology: topology, tls: clientTLS,
                                eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Paths of the CA, this identity's certificate and key.
    public static func tlsConfiguration(_ configuration: ServiceConfiguration, identity: ServiceIdentity)
        throws -> (ca: String, certificate: String, key: String) {
        let directory = try configuration.value(SharedSettings.certsDirectory)
        return (
            try configuration.value(SharedSettings.tlsCA) ?? "\(directory)/ca.pem",
            try configuration.value(SharedSettings.tlsCertificate) ?? "\(directory)/\(identity.rawValue).pem",
            try configuration.value(SharedSettings.tlsKey) ?? "\(directory)/\(identity.rawValue).key"
        )
    }

    /// Installs process-wide logging and metrics; call once from `main`, never from tests.
    public static func bootstrapProcess(configuration: ServiceConfiguration,
                                        metrics: PrometheusCollectorRegistry) {
        let level = (try? configuration.value(SharedSettings.logLevel)).flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = LazyMetadataLogHandler(wrapping: StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
    }

    /// The RPC client for `service` in `region` (default: this region), from ``rpcClients``.
    public func client(for service: ServiceIdentity, region: String? = nil) throws -> RPCClient {
        try rpcClients.client(for: service, region: region)
    }

    /// The address this executable listens on (`--listen`, default `127.0.0.1:<identity's port>`).
    public func listenAddress() throws -> String {
        try configuration.value(SharedSettings.listen) ?? "127.0.0.1:\(identity.defaultPort)"
    }

    /// Splits `host:port`.
    public static func hostAndPort(_ address: String) throws -> (String, Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ConfigurationError(message: "listen address '\(address)' must look like 127.0.0.1:8443")
        }
        return (String(address[..<colon]), port)
    }

    /// An RPC server on `listen` (host:port) with the standard routes and limits.
    ///
    /// A public listener (the gateway's) sends HSTS, `nosniff`, `Referrer-Policy: no-referrer` and
    /// its region (`X-MovR-Gateway-Region`) with every answer, reports which regions served each
    /// RPC reply (`X-MovR-Region`, `Server-Timing`), and serves
    /// `/metrics` only with `--public-metrics` (metrics describe the deployment).
    public func makeServer(listen: String, dispatcher: RPCDispatcher, tls: TLSContextProvider,
                           identifiesCallers: Bool, isPublic: Bool = false,
                           readiness: @escaping @Sendable () async -> Bool,
                           staticContent: @escaping @Sendable (String) -> HTTPPlainResponse? = { _ in nil })
        throws -> RPCServer {
        var settings = RPCServerConfiguration()
        (settings.host, settings.port) = try Self.hostAndPort(listen)
        settings.identifiesCallers = identifiesCallers
        settings.costName = identity.rawValue
        settings.maxConnections = try configuration.value(SharedSettings.maxConnections)
        var routes = RPCServerRoutes()
        routes.readiness = readiness
        let metrics = self.metrics
        routes.metrics = { metrics.emitToString() }
        if isPublic {
            // Anyone can connect here: cap each client's share and free idle or slow
            // connections sooner than on the internal listeners (docs/operations.md).
            settings.maxConnectionsPerClient = try configuration.value(PublicListenerSettings.maxConnectionsPerClient)
            settings.requestReadTimeout = .seconds(Int64(try configuration.value(PublicListenerSettings.readTimeoutSeconds)))
            settings.idleTimeout = .seconds(Int64(try configuration.value(PublicListenerSettings.idleTimeoutSeconds)))
            settings.trustedProxies = TrustedProxies(try configuration.value(PublicListenerSettings.trustedProxies)
                .split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty })
            settings.responseHeaders = [
                ("strict-transport-security", "max-age=31536000"),
                ("x-content-type-options", "nosniff"),
                ("referrer-policy", "no-referrer"),
                (RPCHeader.gatewayRegion, region),
            ]
            settings.reportsServingRegions = true
            if try !configuration.value(PublicListenerSettings.publicMetrics) {
                routes.metrics = nil
            }
        }
        routes.staticContent = staticContent
        return RPCServer(configuration: settings, dispatcher: dispatcher, routes: routes, tls: tls,
                         eventLoopGroup: eventLoopGroup, logger: logger)
    }
}
