import MovRService
import MovRServiceDatabase

/// Everything `movr-rides` accepts: the shared and database settings (with regional reads) and
/// its own (docs/operations.md, "Configuration").
public enum RidesSettings {
    /// Default: `config/pricing.json`, searched like the locality map.
    public static let pricingConfig = Setting<String?>("pricing-config")
    public static let reconcileSeconds = Setting<Int>("reconcile-seconds", default: 2)
    public static let reconcileGraceSeconds = Setting<Int>("reconcile-grace-seconds", default: 5)
    /// A fault point armed on every pass (crash tests only; `FaultPoint`).
    public static let fault = Setting<String?>("fault")
    /// Directory of one-shot fault files (crash tests only; `FaultPoint`).
    public static let faultDirectory = Setting<String?>("fault-dir")

    public static let all: [SettingDeclaration] = SharedSettings.all + DatabaseSettings.primary
        + DatabaseSettings.regionalReads + [
            pricingConfig.declaration, reconcileSeconds.declaration, reconcileGraceSeconds.declaration,
            fault.declaration, faultDirectory.declaration,
        ]
}
