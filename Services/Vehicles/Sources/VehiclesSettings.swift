import MovRService
import MovRServiceDatabase

/// Everything `movr-vehicles` accepts: the shared and database settings (with regional reads)
/// and its own (docs/operations.md, "Configuration").
public enum VehiclesSettings {
    /// Cockroach dialect only: `vehicles.list` reads `AS OF SYSTEM TIME follower_read_timestamp()`.
    public static let followerReads = Setting<Bool>("follower-reads", default: false)

    public static let all: [SettingDeclaration] = SharedSettings.all + DatabaseSettings.primary
        + DatabaseSettings.regionalReads + [followerReads.declaration]
}
