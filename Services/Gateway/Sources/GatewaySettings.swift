import MovRService

/// Everything `movr-gateway` accepts: the shared settings, its public listener's and its own
/// (docs/operations.md, "Configuration"). It owns no database: no database settings.
public enum GatewaySettings {
    /// Default: `<certs-dir>/public.pem` and `public.key`.
    public static let publicTLSCertificate = Setting<String?>("public-tls-cert")
    public static let publicTLSKey = Setting<String?>("public-tls-key")
    /// Default: `Services/Gateway/WebApp`, found from the executable or the working directory.
    public static let webDirectory = Setting<String?>("web-dir")
    public static let homeRegionRouting = Setting<Bool>("home-region-routing", default: true)
    /// Session checks in flight to the users service before signed-in calls' tokens queue and
    /// go as one `auth.sessions` batch (docs/architecture.md §4).
    public static let sessionChecksInFlight = Setting<Int>("session-checks-in-flight", default: 1)

    public static let all: [SettingDeclaration] = SharedSettings.all + PublicListenerSettings.all + [
        publicTLSCertificate.declaration, publicTLSKey.declaration, webDirectory.declaration,
        homeRegionRouting.declaration, sessionChecksInFlight.declaration,
    ]
}
