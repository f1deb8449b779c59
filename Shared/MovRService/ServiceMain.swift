import Foundation
import Logging
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import MovRTLS
import Prometheus
import ServiceLifecycle

/// One MovR executable's domain part: what it serves and what it runs in the background.
public protocol MovRServiceDefinition: Sendable {
    static var identity: ServiceIdentity { get }
    /// Every setting this executable accepts, with its type (by default ``SharedSettings/all``);
    /// any other `--flag` or `MOVR_*` variable stops the start, named.
    static var settings: [SettingDeclaration] { get }
    init(runtime: ServiceRuntime) async throws
    /// The servers this executable runs (by default one internal mutual-TLS listener).
    func makeServers(runtime: ServiceRuntime) throws -> [RPCServer]
    /// Reconcilers, relays and other loops that run beside the servers.
    var backgroundServices: [any Service] { get }
    /// Certificates of extra listeners (beyond the runtime's own), reloaded like the others.
    var extraTLSProviders: [TLSContextProvider] { get }
    func shutdown() async
}

extension MovRServiceDefinition {
    public static var settings: [SettingDeclaration] { SharedSettings.all }
    public var backgroundServices: [any Service] { [] }
    public var extraTLSProviders: [TLSContextProvider] { [] }
    public func shutdown() async {}
}

/// The shared `main` of every MovR executable: configuration, logging, metrics, servers,
/// background services, certificate reload, and graceful shutdown on SIGTERM/SIGINT.
public enum ServiceMain {
    /// The executable's synchronous `main`: gives up root on the main thread, while it is the
    /// only thread, then runs ``run(_:)`` and exits. (An `async` main would be too late: the
    /// runtime parks the main thread with `pthread_exit` before the first line runs, and a
    /// thread that has exited keeps the credentials it had, so the process would still show as
    /// root however its running threads changed.)
    public static func main<Definition: MovRServiceDefinition>(_ definition: Definition.Type) -> Never {
        let identity = Definition.identity
        do {
            let configuration = try ServiceConfiguration(accepting: Definition.settings)
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
            let servers = try service.makeServers(runtime: runtime)
            let reloadSeconds = try configuration.value(SharedSettings.certReloadSeconds)
            var services: [any Service] = servers.map { RPCServerService(server: $0) }
            services.append(CertificateReloadService(
                providers: [runtime.internalServerTLS, runtime.clientTLS] + service.extraTLSProviders,
                interval: .seconds(max(1, reloadSeconds)), logger: runtime.logger))
            services += service.backgroundServices
            var configurations = services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
            if try configuration.value(SharedSettings.exitWithParent) {
                // Its parent gone, the process shuts down in order, like on SIGTERM: not a failure.
                configurations.append(ServiceGroupConfiguration.ServiceConfiguration(
                    service: ParentWatchService(), successTerminationBehavior: .gracefullyShutdownGroup))
            }
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: configurations,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: runtime.logger))
            runtime.logger.info("starting")
            try await group.run()
            await service.shutdown()
            await runtime.shutdownClients()
            runtime.logger.info("stopped")
        } catch {
            logger.critical("cannot run", metadata: ["error": "\(error)"])
            fail("movr-\(identity.rawValue): \(error)")
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(1)
    }
}
