import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// Named places where the process can be made to die on purpose, so crash tests can prove the
/// repair paths. Armed by the `fault` setting (`MOVR_FAULT`, every time), or once by a file of
/// the point's name in the directory of the `fault-dir` setting (`MOVR_FAULT_DIR`) (the file is removed as the process dies,
/// so the restarted process runs normally). A no-op when neither is set, as in production.
public enum FaultPoint {
    /// Dies between reserving the vehicle and recording the ride of `rides.start`.
    public static let afterReserve = "rides.start.after_reserve"

    /// Kills this process with SIGKILL (no cleanup, like a power cut) when `name` is armed.
    static func hit(_ name: String, armed: String?) {
        guard armed == name || consumeOneShot(name) else { return }
        if kill(getpid(), SIGKILL) != 0 {
            _exit(137)  // as abrupt, should the signal be refused
        }
    }

    /// The `fault-dir` setting, set once at start (`RidesService`); nil: no one-shot faults.
    private static let oneShotDirectory = NIOLockedValueBox<String?>(nil)

    static func useOneShotDirectory(_ directory: String?) {
        oneShotDirectory.withLockedValue { $0 = directory }
    }

    private static func consumeOneShot(_ name: String) -> Bool {
        guard let directory = oneShotDirectory.withLockedValue({ $0 }) else { return false }
        return unlink("\(directory)/\(name)") == 0
    }
}
