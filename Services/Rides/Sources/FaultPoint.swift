import Foundation

/// Named places where the process can be made to die on purpose, so crash tests can prove the
/// repair paths. Armed by the `fault` setting (`MOVR_FAULT`, every time), or once by a file of
/// the point's name in the directory `MOVR_FAULT_DIR` (the file is removed as the process dies,
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

    private static let oneShotDirectory = ProcessInfo.processInfo.environment["MOVR_FAULT_DIR"]

    private static func consumeOneShot(_ name: String) -> Bool {
        guard let directory = oneShotDirectory else { return false }
        return unlink("\(directory)/\(name)") == 0
    }
}
