import Foundation
import Logging
import MovRDevTools
import MovRPostgres
import MovRTool
import Testing

/// The local stack's PostgreSQL asks every connection for a password (SCRAM-SHA-256), each
/// service role has its own, and the passwords stay in the 0600 files of `<dir>/secrets/`.
@Suite struct DatabaseAuthTests {
    static let logger = Logger(label: "movr.test.database-auth")

    static func connects(_ url: String) async -> Result<String, PostgresError> {
        let client = PostgresClient(configuration: PostgresConfiguration(url: url, poolSize: 1, connectTimeoutSeconds: 20), logger: logger)
        let result: Result<String, PostgresError>
        do {
            let rows = try await client.query("SELECT current_user AS who")
            result = .success(rows.first?["who"] ?? "")
        } catch let error as PostgresError {
            result = .failure(error)
        } catch {
            result = .failure(PostgresError(code: .connectionFailed, serverMessage: "\(error)"))
        }
        await client.shutdown()
        return result
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil,
                   "needs the local stack's secrets directory"))
    func everyRoleNeedsItsOwnPassword() async throws {
        let stack = try await LocalStackHarness.shared.start()
        let superuserFile = try #require(DatabaseSetup.passwordFile(of: stack.databaseURL))
        let secrets = (superuserFile as NSString).deletingLastPathComponent

        // The server: SCRAM for every rule of pg_hba.conf, verifiers stored, no clear passwords.
        let admin = PostgresClient(configuration: PostgresConfiguration(url: stack.databaseURL, poolSize: 1),
                                   logger: Self.logger)
        let methods = try await admin.query("SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE error IS NULL")
        let encryption = try await admin.query("SHOW password_encryption")
        let stored = try await admin.query(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('postgres', 'movr_users', 'movr_vehicles', 'movr_rides')")
        await admin.shutdown()
        #expect(methods.map { $0[0] ?? "" } == ["scram-sha-256"])
        #expect(encryption.first?[0] == "scram-sha-256")
        #expect(stored.count == 4)
        for row in stored {
            #expect(row[1]?.hasPrefix("SCRAM-SHA-256$4096:") == true, "\(row[0] ?? "")")
        }

        // With its own password file a service role connects...
        let usersURL = DatabaseSetup.serviceURL(superuserURL: stack.databaseURL, database: .users)
        #expect(DatabaseSetup.passwordFile(of: usersURL) == secrets + "/movr_users.pgpass")
        #expect(try await Self.connects(usersURL).get() == "movr_users")

        // ... without a password it is refused, and with another role's password too.
        let scratch = NSTemporaryDirectory() + "movr-auth-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let empty = scratch + "/empty.pgpass"
        _ = FileManager.default.createFile(atPath: empty, contents: Data(), attributes: [.posixPermissions: 0o600])
        let noPassword = DatabaseSetup.replacingFileParameters(in: usersURL) { _, _ in empty }
        guard case .failure(let missing) = await Self.connects(noPassword) else {
            Issue.record("movr_users connected without a password")
            return
        }
        #expect(missing.code == .connectionFailed)
        #expect(missing.serverMessage?.contains("no password supplied") == true, "\(String(reflecting: missing))")

        let vehiclesPassword = try LocalPostgresCluster.readPassword(fromPasswordFile: secrets + "/movr_vehicles.pgpass",
                                                                     role: "movr_vehicles")
        let wrong = scratch + "/wrong.pgpass"
        _ = FileManager.default.createFile(atPath: wrong, contents: Data("*:*:*:movr_users:\(vehiclesPassword)\n".utf8),
                                           attributes: [.posixPermissions: 0o600])
        let otherPassword = DatabaseSetup.replacingFileParameters(in: usersURL) { _, _ in wrong }
        guard case .failure(let rejected) = await Self.connects(otherPassword) else {
            Issue.record("movr_users connected with movr_vehicles' password")
            return
        }
        #expect(rejected.serverMessage?.contains("password authentication failed for user \"movr_users\"") == true,
                "\(String(reflecting: rejected))")
        // The superuser is refused without its password as well.
        let superuserWithout = DatabaseSetup.replacingFileParameters(in: stack.databaseURL) { _, _ in empty }
        guard case .failure = await Self.connects(superuserWithout) else {
            Issue.record("postgres connected without a password")
            return
        }

        // The files are 0600 and no password appears in the stack file or any log.
        let directory = await LocalStackHarness.shared.directory
        var texts = [try String(contentsOfFile: directory + "/stack.json", encoding: .utf8)]
        for log in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/logs")) ?? [] {
            texts.append((try? String(contentsOfFile: directory + "/logs/" + log, encoding: .utf8)) ?? "")
        }
        texts.append((try? String(contentsOfFile: directory + "/movr-up.log", encoding: .utf8)) ?? "")
        for role in ["postgres", "movr_users", "movr_vehicles", "movr_rides"] {
            let path = "\(secrets)/\(role).pgpass"
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600, "\(path)")
            let password = try LocalPostgresCluster.readPassword(fromPasswordFile: path, role: role)
            #expect(!texts.contains { $0.contains(password) }, "\(role)'s password is written somewhere")
        }
    }
}
