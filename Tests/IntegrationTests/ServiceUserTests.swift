import Foundation
import MovRService
import Testing

/// Started as root (as CI and `make run` as root do), every executable gives up root at start
/// and runs as the `movr` account, which can read the service keys but not the CA's or the
/// operator's.
@Suite(.enabled(if: geteuid() == 0 && ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil,
                "needs root, and a local stack"))
struct ServiceUserTests {
    @Test func everyExecutableStartedAsRootRunsAsTheServiceAccount() async throws {
        _ = try await LocalStackHarness.shared.start()
        let directory = await LocalStackHarness.shared.directory
        let account = try #require(ServiceUser.ids(of: ServiceUser.defaultName), "movr up creates the account")
        #expect(account.uid != 0)
        let lines = try String(contentsOfFile: directory + "/pids", encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 16, "four regions of four executables")
        for line in lines {
            let fields = line.split(separator: " ")
            guard let pid = fields.first.flatMap({ Int32($0) }) else { continue }
            // A child restarted by another test since has another pid; the rest are checked.
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { continue }
            func ids(_ key: String) -> [String] {
                status.split(separator: "\n").first { $0.hasPrefix(key + ":") }?
                    .split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().map(String.init) ?? []
            }
            // Real, effective, saved and filesystem ids all changed: no way back to root.
            #expect(ids("Uid") == Array(repeating: "\(account.uid)", count: 4), "\(line)")
            #expect(ids("Gid") == Array(repeating: "\(account.gid)", count: 4), "\(line)")
            #expect(ids("Groups") == ["\(account.gid)"], "\(line)")
        }
        // What the account can read: the service keys (group), not the CA's or the operator's.
        func owner(_ file: String) throws -> (uid: Int, gid: Int, mode: Int) {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/certs/" + file)
            return ((attributes[.ownerAccountID] as? NSNumber)?.intValue ?? -1,
                    (attributes[.groupOwnerAccountID] as? NSNumber)?.intValue ?? -1,
                    (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1)
        }
        let users = try owner("users.key")
        #expect(users.uid == 0 && users.gid == Int(account.gid) && users.mode == 0o640)
        for secret in ["ca.key", "operator.key"] {
            let file = try owner(secret)
            #expect(file.uid == 0 && file.mode == 0o600, "\(secret): \(file)")
        }
    }
}
