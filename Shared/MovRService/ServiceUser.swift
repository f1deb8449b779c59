#if canImport(Glibc)
import Glibc
#endif

/// A MovR executable started as root gives up root before it reads a key or opens a socket:
/// it becomes the unprivileged account `MOVR_USER` (default `movr`), for good. Nothing it does
/// needs root (its ports are above 1024), so a compromised process gets no more than that
/// account can do. Started as anyone else, nothing changes (containers run as uid 10001).
public enum ServiceUser {
    public static let defaultName = "movr"

    public struct DropError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Becomes `name` when the process is root; refuses `root` itself.
    public static func dropRootPrivileges(to name: String) throws {
        guard geteuid() == 0 || getuid() == 0 else { return }
        guard name != "root", !name.isEmpty else {
            throw DropError(description: "started as root, and MOVR_USER names root: MovR executables do not run as root")
        }
        guard let account = getpwnam(name) else {
            throw DropError(description: "started as root, but the account '\(name)' to run as does not exist; "
                            + "create it (useradd --system --user-group --no-create-home --shell /usr/sbin/nologin \(name)) "
                            + "or set MOVR_USER (`movr up` creates it)")
        }
        let uid = account.pointee.pw_uid
        let gid = account.pointee.pw_gid
        guard uid != 0 else { throw DropError(description: "the account '\(name)' has uid 0") }
        // Supplementary groups first (only root may change them), then the group, then the user.
        var groups = [gid]
        guard setgroups(1, &groups) == 0, setgid(gid) == 0, setuid(uid) == 0 else {
            throw DropError(description: "cannot become '\(name)': errno \(errno)")
        }
        // The change must be permanent.
        guard setuid(0) != 0, geteuid() == uid, getegid() == gid else {
            throw DropError(description: "root privileges could be regained after becoming '\(name)'")
        }
    }

    /// The uid and gid of `name`, if the account exists.
    public static func ids(of name: String) -> (uid: uid_t, gid: gid_t)? {
        guard let account = getpwnam(name) else { return nil }
        return (account.pointee.pw_uid, account.pointee.pw_gid)
    }
}
