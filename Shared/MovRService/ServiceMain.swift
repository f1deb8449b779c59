import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import MovRCrypto
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import MovRTLS
import NIOCore
import Prometheus
import ServiceLifecycle

/// One MovR executable's domain part: what it serves and what it runs in the background.
public protocol MovRServiceDefinition: Sendable {
    static var identity: ServiceIdentity { get }
    /// Every setting this executable accepts, with its type (by default ``SharedSettings/all``);
    /// any other `--flag` or `MOVR_*` variable stops the start, named.
    static var settings: [SettingDeclaration] { get }
    /// Builds the executable's parts from its settings. Starts no threads and touches no
    /// database: that is ``prepare()``'s.
    init(runtime: ServiceRuntime) async throws
    /// Runs once after `init` and before any listener opens: starts the threads of database
    /// clients and worker pools, then applies migrations, in order. A failure stops the start
    /// (after ``shutdown()``).
    func prepare() async throws
    /// What ``prepare()`` started and the rest uses — database clients, worker thread pools —
    /// as lifecycle services. They run first in the group, so they stop last: after the
    /// listeners have drained and the background services have made their final passes.
    var resources: [any Service] { get }
    /// The servers this executable runs (by default one internal mutual-TLS listener).
    func makeServers(runtime: ServiceRuntime) throws -> [RPCServer]
    /// Reconcilers, relays and other loops that run beside the servers.
    var backgroundServices: [any Service] { get }
    /// Certificates of extra listeners (beyond the runtime's own), reloaded like the others.
    var extraTLSProviders: [TLSContextProvider] { get }
    /// Opens `connections` connections to the executable's database ahead of its first calls
    /// (``WarmUpService``, at start); by default nothing (the gateway has no database).
    func warmDatabase(connections: Int) async
    /// Stops what ``prepare()`` started, for when the group does not (a failed `prepare`, tests);
    /// after a group has run it finds everything stopped already. Idempotent.
    func shutdown() async
}

extension MovRServiceDefinition {
    public static var settings: [SettingDeclaration] { SharedSettings.all }
    public func prepare() async throws {}
    public var resources: [any Service] { [] }
    public var backgroundServices: [any Service] { [] }
    public var extraTLSProviders: [TLSContextProvider] { [] }
    public func warmDatabase(connections: Int) async {}
    public func shutdown() async {}
}

/// The shared `main` of every MovR executable: configuration, logging, metrics, servers,
/// background services, certificate reload, and graceful shutdown on SIGTERM/SIGINT.
///
/// Order: settings (refused if unknown), `init` (no threads, no database), `prepare()`
/// (threads, migrations), then one service group: the RPC clients, the definition's resources
/// (database clients, worker pools), background services, certificate reload and last the
/// listeners. On SIGTERM/SIGINT (or when `movr up`, the parent, is gone) the group stops them in
/// reverse, each after the one behind it has returned: the listeners first (stop accepting,
/// drain in-flight requests: "drained"), certificate reload, the background services (final
/// passes), the resources, and last the RPC clients ("stopped").
public enum ServiceMain {
    /// The executable's synchronous `main`: gives up root on the main thread, while it is the
    /// only thread, then runs ``run(_:)`` and exits. (An `async` main would be too late: the
    /// runtime parks the main thread with `pthread_exit` before the first line runs, and a
    /// thread that has exited keeps the credentials it had, so the process would still show as
    /// root however its running threads changed.)
    public static func main<Definition: MovRServiceDefinition>(_ definition: Definition.Type) -> Never {
        // Before anything else touches OpenSSL (libpq does too): no cleanup at exit.
        OpenSSLLibrary.initialize()
        let identity = Definition.identity
        do {
            let configuration = try ServiceConfiguration(accepting: Definition.settings)
            try applyEventLoopCount(configuration)
            _ = try warmConnectionCount(configuration)
            try ServiceUser.dropRootPrivileges(to: configuration.value(SharedSettings.user))
        } catch {
            fail("movr-\(identity.rawValue): \(error)")
        }
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await run(definition)
            done.signal()
        }
        done.wait()
        exit(0)
    }

    /// `--warm-connections`, checked: 0 to ``SharedSettings/maxWarmConnections``.
    static func warmConnectionCount(_ configuration: ServiceConfiguration) throws -> Int {
        let count = try configuration.value(SharedSettings.warmConnections)
        guard (0...SharedSettings.maxWarmConnections).contains(count) else {
            throw ConfigurationError(message: "warm-connections must be 0 to \(SharedSettings.maxWarmConnections), not \(count)")
        }
        return count
    }

    /// Sizes NIO's shared event-loop group (every listener, RPC client and handler runs on it)
    /// before anything creates it: `--event-loops` threads, or one per core when 0.
    static func applyEventLoopCount(_ configuration: ServiceConfiguration) throws {
        let loops = try configuration.value(SharedSettings.eventLoops)
        guard (0...SharedSettings.maxEventLoops).contains(loops) else {
            throw ConfigurationError(message: "event-loops must be 0 (one per core) to \(SharedSettings.maxEventLoops), not \(loops)")
        }
        if loops > 0 { NIOSingletons.groupLoopCountSuggestion = loops }
    }

    private static func run<Definition: MovRServiceDefinition>(_ definition: Definition.Type) async {
        let identity = Definition.identity
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(accepting: Definition.settings)
        } catch {
            fail("movr-\(identity.rawValue): \(error)")
        }
        let registry = PrometheusCollectorRegistry()
        ServiceRuntime.bootstrapProcess(configuration: configuration, metrics: registry)
        let logger = Logger(label: "movr-\(identity.rawValue)")
        do {
            let runtime = try ServiceRuntime(identity: identity, configuration: configuration,
                                             logger: logger, metrics: registry)
            let service = try await Definition(runtime: runtime)
            do {
                try await service.prepare()
            } catch {
                await service.shutdown()
                await runtime.rpcClients.shutdown()
                throw error
            }
            let servers = try service.makeServers(runtime: runtime)
            let reloadSeconds = try configuration.value(SharedSettings.certReloadSeconds)
            let warmConnections = try warmConnectionCount(configuration)
            // A service group stops its services in reverse order, each after the one behind it
            // has returned: listeners last here, so they stop (and drain) first.
            var configurations: [ServiceGroupConfiguration.ServiceConfiguration] = []
            if try configuration.value(SharedSettings.exitWithParent) {
                // Its parent gone, the process shuts down in order, like on SIGTERM: not a failure.
                configurations.append(ServiceGroupConfiguration.ServiceConfiguration(
                    service: ParentWatchService(), successTerminationBehavior: .gracefullyShutdownGroup))
            }
            var services: [any Service] = [runtime.rpcClients]
            services += service.resources
            services += service.backgroundServices
            services.append(CertificateReloadService(
                providers: [runtime.internalServerTLS, runtime.clientTLS] + service.extraTLSProviders,
                interval: .seconds(max(1, reloadSeconds)), logger: runtime.logger))
            services += servers.map { RPCServerService(server: $0) }
            configurations += services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
            // Once, beside the rest; its return ends nothing.
            configurations.append(ServiceGroupConfiguration.ServiceConfiguration(
                service: WarmUpService(clients: runtime.rpcClients, connections: warmConnections, logger: runtime.logger,
                                       database: { await service.warmDatabase(connections: $0) }),
                successTerminationBehavior: .ignore))
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: configurations,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: runtime.logger))
            runtime.logger.info("starting")
            try await group.run()
            await service.shutdown()
            runtime.logger.info("stopped")
        } catch {
            logger.critical("cannot run", metadata: ["error": "\(error)"])
            fail("movr-\(identity.rawValue): \(error)")
        }
    }

    private static func fail(_ message: String) -> Never {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(1)
    }
}
