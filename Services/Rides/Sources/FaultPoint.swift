import Foundation

/// Named places where the process can be made to die on purpose, so crash tests can prove the
/// repair paths. Armed only by the `fault` setting (`MOVR_FAULT`); a no-op otherwise.
public enum FaultPoint {
    /// Dies between reserving the vehicle and recording the ride of `rides.start`.
    public static let afterReserve = "rides.start.after_reserve"

    /// Kills this process with SIGKILL (no cleanup, like a power cut) when `name` is armed.
    static func hit(_ name: String, armed: String?) {
        guard armed == name else { return }
        if kill(getpid(), SIGKILL) != 0 {
            _exit(137)  // as abrupt, should the signal be refused
        }
    }
}
