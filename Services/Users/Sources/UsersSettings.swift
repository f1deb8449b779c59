import MovRService
import MovRServiceDatabase
import NIOCore

/// Everything `movr-users` accepts: the shared and database settings and its own, with types
/// and defaults (docs/operations.md, "Configuration"; ranges are checked at start).
public enum UsersSettings {
    public static let sessionHours = Setting<Int>("session-hours", default: 24)
    public static let sessionSweepSeconds = Setting<Int>("session-sweep-seconds", default: 300)
    /// Hashing may take at most half the cores (one of two here): session checks and the event
    /// loops keep the rest however many passwords arrive.
    public static let hashThreads = Setting<Int>("hash-threads", default: max(1, System.coreCount / 2))
    public static let hashQueue = Setting<Int>("hash-queue", default: 256)
    public static let hashMaxWaitMs = Setting<Int>("hash-max-wait-ms", default: 2000)
    public static let scryptLog2N = Setting<Int>("scrypt-log2n", default: ScryptParameters.standard.log2N)
    public static let registerPerClientPerMinute = Setting<Int>("register-per-client-per-minute", default: 10)
    public static let registerPerSecond = Setting<Int>("register-per-second", default: 20)
    public static let loginFreeFailures = Setting<Int>("login-free-failures", default: 5)
    public static let loginClientFreeFailures = Setting<Int>("login-client-free-failures", default: 30)

    public static let all: [SettingDeclaration] = SharedSettings.all + DatabaseSettings.primary + [
        sessionHours.declaration, sessionSweepSeconds.declaration, hashThreads.declaration, hashQueue.declaration,
        hashMaxWaitMs.declaration, scryptLog2N.declaration, registerPerClientPerMinute.declaration,
        registerPerSecond.declaration, loginFreeFailures.declaration, loginClientFreeFailures.declaration,
    ]
}
