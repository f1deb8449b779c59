import Foundation
import MovRDevTools
import MovRInternalAPI
import MovRService

#if canImport(Glibc)
import Glibc
#endif

/// What `movr up` does when it runs as root, so the executables it starts can give up root
/// (``ServiceUser``): the `movr` system account exists, and it can read what the services need
/// and nothing more — the service identities' keys are `root:movr 0640` in a `root:movr 0750`
/// certificate directory, the service roles' database password files `movr 0600` in a directory
/// it may traverse but not list, while the CA key, the operator key and the database
/// superuser's password stay out of its reach.
enum ServiceAccount {
    /// Identities whose keys the executables load (the gateway also serves `public`).
    static let serviceKeys = [ServiceIdentity.gateway, .users, .vehicles, .rides].map(\.rawValue)
        + [CertificateSetup.publicFileName]

    /// - Parameters:
    ///   - passwordFiles: the service roles' libpq password files; libpq reads only files no group
    ///     or other may read, so they become `movr 0600` (their directory stays closed to listing).
    static func prepare(certificates directory: String, passwordFiles: [String] = [], writableDirectories: [String],
                        logDirectory: String) async throws {
        guard geteuid() == 0 else { return }
        let name = ServiceUser.defaultName
        if ServiceUser.ids(of: name) == nil {
            let status = try await ToolProcess.run(
                ["/usr/sbin/useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                 "--shell", "/usr/sbin/nologin", name],
                outputPath: "\(logDirectory)/useradd.log")
            guard status == 0, ServiceUser.ids(of: name) != nil else {
                throw StackError("could not create the system account '\(name)' for the services (see \(logDirectory)/useradd.log)")
            }
        }
        guard let ids = ServiceUser.ids(of: name) else { return }
        try own(directory, uid: 0, gid: ids.gid, mode: 0o750)
        for file in serviceKeys.map({ "\(directory)/\($0).key" }) where FileManager.default.fileExists(atPath: file) {
            try own(file, uid: 0, gid: ids.gid, mode: 0o640)
        }
        for file in passwordFiles where FileManager.default.fileExists(atPath: file) {
            try own(file, uid: ids.uid, gid: ids.gid, mode: 0o600)
            let folder = (file as NSString).deletingLastPathComponent
            var status = stat()
            if stat(folder, &status) == 0, status.st_mode & 0o011 != 0o011 {
                guard chmod(folder, (status.st_mode & 0o7777) | 0o011) == 0 else {
                    throw StackError("cannot let the service account reach \(folder): errno \(errno)")
                }
            }
        }
        for directory in writableDirectories {
            try own(directory, uid: ids.uid, gid: ids.gid, mode: 0o700)
        }
    }

    private static func own(_ path: String, uid: uid_t, gid: gid_t, mode: mode_t) throws {
        guard chown(path, uid, gid) == 0, chmod(path, mode) == 0 else {
            throw StackError("cannot set the owner of \(path) for the service account: errno \(errno)")
        }
    }
}
