import FoundationEssentials
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import MovRService
import MovRTLS

/// The public edge: JSON-RPC over HTTPS on `POST /rpc`, the web UI on `/`. It resolves the
/// caller (bearer token) and the client's location, then calls the owning service in the region
/// that homes the city — one hop, over mutual TLS.
public struct GatewayService: MovRServiceDefinition {
    public static let identity = ServiceIdentity.gateway
    public static var settings: [SettingDeclaration] { GatewaySettings.all }
    let publicTLS: TLSContextProvider
    /// The browser app, or nil when its files are not installed (then `/` is 404).
    let webUI: WebUI?

    public init(runtime: ServiceRuntime) async throws {
        // The public listener never serves the internal `gateway` identity (which services trust
        // to assert a user): it has its own certificate, `public.pem` beside the others.
        let directory = try runtime.configuration.value(SharedSettings.certsDirectory)
        publicTLS = try TLSContextProvider(
            configuration: TLSConfiguration(
                certificateChainPath: try runtime.configuration.value(GatewaySettings.publicTLSCertificate)
                    ?? "\(directory)/public.pem",
                privateKeyPath: try runtime.configuration.value(GatewaySettings.publicTLSKey) ?? "\(directory)/public.key",
                requireClientCertificate: false,
                minimumVersion: .tls12),
            role: .server)
        let configuredWebDirectory = try runtime.configuration.value(GatewaySettings.webDirectory)
        if let directory = WebUI.locate(configured: configuredWebDirectory) {
            // A configured directory that cannot be read stops the start; a guessed one too.
            webUI = try WebUI(directory: directory)
            runtime.logger.info("web app loaded", metadata: ["directory": "\(directory)", "version": "\(webUI?.version ?? "")"])
        } else {
            webUI = nil
            runtime.logger.warning("web app files not found (set MOVR_WEB_DIR); GET / answers 404")
        }
    }

    /// The public listener's certificate is rotated like the internal ones.
    public var extraTLSProviders: [TLSContextProvider] { [publicTLS] }

    public func makeServers(runtime: ServiceRuntime) throws -> [RPCServer] {
        let clients = runtime.rpcClients
        // Every peer a call may go to, made now so the warm-up at start opens connections to
        // each (a region or service the topology does not name is left to fail when called).
        for region in runtime.locality.regions {
            for service in [ServiceIdentity.users, .vehicles, .rides] {
                _ = try? clients.client(for: service, region: region.name)
            }
        }
        let sessionChecksInFlight = try runtime.configuration.value(GatewaySettings.sessionChecksInFlight)
        guard (1...1024).contains(sessionChecksInFlight) else {
            throw ConfigurationError(message: "--session-checks-in-flight must be 1 to 1024, not \(sessionChecksInFlight)")
        }
        let api = PublicAPI(region: runtime.region, locality: runtime.locality,
                            homeRegionRouting: try runtime.configuration.value(GatewaySettings.homeRegionRouting),
                            sessionChecksInFlight: sessionChecksInFlight,
                            logger: runtime.logger) { service, region in try clients.client(for: service, region: region) }
        let listen = try runtime.listenAddress()
        return [try runtime.makeServer(
            listen: listen, dispatcher: api.dispatcher(), tls: publicTLS, identifiesCallers: false, isPublic: true,
            readiness: { await api.dependenciesReachable() },
            staticContent: { [webUI] path in webUI?.response(for: path) })]
    }
}
