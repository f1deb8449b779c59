import Foundation
import Logging
import MovRRPC
import MovRRPCTransport
import MovRTLS
import Prometheus
import ServiceLifecycle

/// One MovR executable's domain part: what it serves and what it runs in the background.
public protocol MovRServiceDefinition: Sendable {
    static var identity: ServiceIdentity { get }
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
    public var backgroundServices: [any Service] { [] }
    public var extraTLSProviders: [TLSContextProvider] { [] }
    public func shutdown() async {}
}

/// The shared `main` of every MovR executable: configuration, logging, metrics, servers,
/// background services, certificate reload, and graceful shutdown on SIGTERM/SIGINT.
public enum ServiceMain {
    public static func run<Definition: MovRServiceDefinition>(_ definition: Definition.Type) async {
        let identity = Definition.identity
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration()
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
            let reloadSeconds = try configuration.int("cert-reload-seconds", default: 30)
            var services: [any Service] = servers.map { RPCServerService(server: $0) }
            services.append(CertificateReloadService(
                providers: [runtime.internalServerTLS, runtime.clientTLS] + service.extraTLSProviders,
                interval: .seconds(max(1, reloadSeconds)), logger: runtime.logger))
            services += service.backgroundServices
            if try configuration.bool("exit-with-parent", default: false) {
                services.append(ParentWatchService())
            }
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
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
