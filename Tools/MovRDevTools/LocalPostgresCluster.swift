import Foundation
import Logging
import MovRPostgres

/// A private PostgreSQL cluster managed with the system's `initdb` and `pg_ctl` (for `make run`
/// and tests). When the current process is root, every command runs as the unprivileged
/// `postgres` user and the directories are handed to it first; PostgreSQL never runs as root.
///
/// Every login needs a password: `initdb` sets SCRAM-SHA-256 for TCP and for the Unix socket
/// (no `trust`, no `peer`), and the superuser's password comes from `passwordFile`, a libpq
/// password file that URLs name with `passfile=` so the password is in no URL, log or argument.
public struct LocalPostgresCluster: Sendable {
    public let dataDirectory: String
    public let port: Int
    /// Where the Unix socket goes; must be short (< ~100 bytes). `nil`: TCP only.
    public let socketDirectory: String?
    /// Extra `postgresql.conf` settings, e.g. `["fsync": "off"]` for throwaway test clusters.
    public var settings: [String: String]
    public let binDirectory: String?
    /// The OS user that runs PostgreSQL when this process is root.
    public let serviceUser: String
    /// The superuser's libpq password file (`*:*:*:postgres:<password>`, 0600; owned by
    /// `serviceUser` when root, because a standby's WAL receiver reads it too). Create it with
    /// `createPasswordFile(at:role:owner:)` before `initialize()`.
    public let passwordFile: String

    public init(dataDirectory: String, port: Int, passwordFile: String, socketDirectory: String? = nil,
                settings: [String: String] = [:], serviceUser: String = "postgres") {
        self.dataDirectory = (dataDirectory as NSString).standardizingPath
        self.passwordFile = (passwordFile as NSString).standardizingPath
        self.port = port
        self.socketDirectory = socketDirectory
        self.settings = settings
        self.binDirectory = Self.findBinDirectory()
        self.serviceUser = serviceUser
    }

    /// Superuser URL over TCP; the password comes from `passwordFile` (SCRAM-SHA-256).
    public var superuserURL: String { url(database: "postgres") }

    /// `postgresql://<user>@127.0.0.1:<port>/<database>?passfile=<password file>`: libpq takes the
    /// password of `user` from the file (for another user, pass that user's file).
    public func url(database: String, user: String = "postgres", passwordFile: String? = nil) -> String {
        var components = URLComponents()
        components.scheme = "postgresql"
        components.user = user
        components.host = "127.0.0.1"
        components.port = port
        components.path = "/" + database
        components.queryItems = [URLQueryItem(name: "passfile", value: passwordFile ?? self.passwordFile)]
        return components.string ?? "postgresql://\(user)@127.0.0.1:\(port)/\(database)"
    }

    /// Writes a libpq password file for `role` with a new random password (32 random bytes, hex)
    /// unless `path` exists; mode 0600, owned by `owner` (an OS user name) when this process is
    /// root, otherwise by this process. Returns the password.
    @discardableResult
    public static func createPasswordFile(at path: String, role: String, owner: String? = nil) throws -> String {
        if let existing = try? readPassword(fromPasswordFile: path, role: role) { return existing }
        guard isPlainIdentifier(role) else {
            throw PostgresError(code: .invalidQuery, serverMessage: "role names must match [a-z_][a-z0-9_]*")
        }
        var generator = SystemRandomNumberGenerator()
        let password = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let temporary = path + ".tmp"
        try writeSecret("*:*:*:\(role):\(password)\n", to: temporary)
        if geteuid() == 0, let owner {
            guard let user = getpwnam(owner), chown(temporary, user.pointee.pw_uid, user.pointee.pw_gid) == 0 else {
                throw PostgresError(code: .clusterControl, serverMessage: "chown \(temporary) to \(owner) failed")
            }
        }
        guard rename(temporary, path) == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "cannot rename \(temporary)")
        }
        return password
    }

    /// Creates (or truncates) `path` with mode 0600 from the start and writes `text`.
    static func writeSecret(_ text: String, to path: String) throws {
        unlink(path)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "cannot create \(path)")
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == bytes.count else {
            throw PostgresError(code: .clusterControl, serverMessage: "cannot write \(path)")
        }
    }

    /// The password of `role` in a libpq password file written by `createPasswordFile`.
    public static func readPassword(fromPasswordFile path: String, role: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
            if fields.count == 5, fields[3] == role, !fields[4].isEmpty { return String(fields[4]) }
        }
        throw PostgresError(code: .clusterControl, serverMessage: "\(path) holds no password for \(role)")
    }

    public var logFile: String { dataDirectory + "/server.log" }

    public var isInitialized: Bool {
        FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION")
    }

    /// Runs `initdb` unless the data directory already holds a cluster.
    public func initialize() async throws {
        try prepareDirectories()
        if !isInitialized {
            // initdb reads the superuser's password from a file of just the password.
            let password = try Self.readPassword(fromPasswordFile: passwordFile, role: "postgres")
            let passwordOnly = dataDirectory + ".initdb-password"
            try Self.writeSecret(password + "\n", to: passwordOnly)
            defer { try? FileManager.default.removeItem(atPath: passwordOnly) }
            try handToServiceUser(passwordOnly)
            try await run("initdb", ["-D", dataDirectory, "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
                                     "-U", "postgres", "--pwfile=" + passwordOnly,
                                     "--encoding", "UTF8", "--locale", "C", "--no-instructions"])
        }
        let hba = (try? String(contentsOfFile: dataDirectory + "/pg_hba.conf", encoding: .utf8)) ?? ""
        if hba.split(whereSeparator: \.isNewline).contains(where: { !$0.hasPrefix("#") && $0.hasSuffix("trust") }) {
            throw PostgresError(code: .clusterControl, serverMessage:
                "\(dataDirectory) was created with trust authentication by an older movr; remove it (its data is "
                + "demo data) so it is created again with SCRAM-SHA-256 passwords")
        }
        // Our settings live in their own file so restarts with another port stay simple.
        let conf = dataDirectory + "/postgresql.conf"
        let include = "include_if_exists = 'movr.conf'\n"
        let current = (try? String(contentsOfFile: conf, encoding: .utf8)) ?? ""
        if !current.contains(include) {
            guard let handle = FileHandle(forWritingAtPath: conf) else {
                throw PostgresError(code: .clusterControl, serverMessage: "cannot write \(conf)")
            }
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(("\n" + include).utf8))
        }
    }

    /// Starts the server (`pg_ctl -w`) on 127.0.0.1 and `port`; initializes first if needed.
    public func start() async throws {
        if !isInitialized { try await initialize() }
        try prepareDirectories()
        try writeSettings()
        try await run("pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "120", "start"])
    }

    /// Stops the server; `.fast` disconnects clients and rolls back their transactions.
    public func stop(mode: ShutdownMode = .fast) async throws {
        try await run("pg_ctl", ["-D", dataDirectory, "-w", "-t", "120", "-m", mode.rawValue, "stop"])
    }

    /// Fast restart: every client connection is terminated.
    public func restart() async throws {
        try writeSettings()
        try await run("pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "120", "-m", "fast", "restart"])
    }

    /// Makes this (not yet existing or stale) data directory a streaming-replication standby of
    /// the cluster listening on 127.0.0.1:`primaryPort`: `pg_basebackup` copies it, creates the
    /// physical replication slot `slot` (`-C -S`) so the primary keeps the WAL the standby still
    /// needs, and writes `standby.signal` and `primary_conninfo` (`-R`). `start()` then runs it
    /// as a hot standby that streams from the primary through whatever listens on that port.
    public func createStandby(primaryPort: Int, slot: String) async throws {
        guard Self.isPlainIdentifier(slot) else {
            throw PostgresError(code: .invalidQuery, serverMessage: "slot names must match [a-z_][a-z0-9_]*")
        }
        if FileManager.default.fileExists(atPath: dataDirectory) {
            try FileManager.default.removeItem(atPath: dataDirectory)
        }
        try prepareDirectories()
        // The superuser's password file is named in the conninfo, and `-R` copies that conninfo
        // (passfile included, no password) into the standby's `primary_conninfo`.
        let quoted = passwordFile.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        let source = "host=127.0.0.1 port=\(primaryPort) user=postgres passfile='\(quoted)'"
        try await run("pg_basebackup", ["-d", source, "-D", dataDirectory,
                                        "-R", "-X", "stream", "-C", "-S", slot, "--checkpoint=fast", "--no-password"])
    }

    public var isRunning: Bool {
        get async { (try? await run("pg_ctl", ["-D", dataDirectory, "status"])) != nil }
    }

    public enum ShutdownMode: String, Sendable {
        case smart, fast, immediate
    }

    /// Creates a database (and optionally makes `owner` own it) through a short-lived client.
    public func createDatabase(_ name: String, owner: String? = nil, logger: Logger = Logger(label: "movr.postgres.cluster")) async throws {
        guard Self.isPlainIdentifier(name), owner.map(Self.isPlainIdentifier) ?? true else {
            throw PostgresError(code: .invalidQuery, serverMessage: "database and role names must match [a-z_][a-z0-9_]*")
        }
        var sql = "CREATE DATABASE \"\(name)\""
        if let owner { sql += " OWNER \"\(owner)\"" }
        try await executeAsSuperuser(sql, logger: logger)
    }

    /// Utility statements (CREATE DATABASE/ROLE) take identifiers, not binds; callers validate them.
    private func executeAsSuperuser(_ sql: String, logger: Logger) async throws {
        let client = PostgresClient(configuration: PostgresConfiguration(url: superuserURL, poolSize: 1), logger: logger)
        do {
            try await client.execute(sql)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 63 else { return false }
        let lower = Unicode.Scalar("a")..."z"
        return (lower.contains(first) || first == "_")
            && name.unicodeScalars.allSatisfy { lower.contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    // MARK: Private

    private var runsAsRoot: Bool { geteuid() == 0 }

    private func writeSettings() throws {
        var lines = [
            "port = \(port)",
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = '\(socketDirectory ?? "")'",
        ]
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            lines.append("\(key) = '\(value.replacingOccurrences(of: "'", with: "''"))'")
        }
        let path = dataDirectory + "/movr.conf"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        try handToServiceUser(path)
    }

    private func prepareDirectories() throws {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true,
                                        attributes: [.posixPermissions: 0o700])
        if let socketDirectory {
            try fileManager.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        }
        guard runsAsRoot else { return }
        try handToServiceUser(dataDirectory)
        if let socketDirectory { try handToServiceUser(socketDirectory) }
        // The service user must be able to reach the data directory and the password file (a
        // standby's WAL receiver reads it).
        try grantTraversal(from: (dataDirectory as NSString).deletingLastPathComponent)
        try grantTraversal(from: (passwordFile as NSString).deletingLastPathComponent)
    }

    /// o+x on `directory` and its ancestors (only what is missing), so the service user can pass.
    private func grantTraversal(from directory: String) throws {
        var parent = directory
        while parent != "/" && !parent.isEmpty {
            var info = stat()
            guard stat(parent, &info) == 0 else { break }
            if info.st_mode & S_IXOTH == 0 {
                guard chmod(parent, info.st_mode & 0o7777 | S_IXOTH) == 0 else {
                    throw PostgresError(code: .clusterControl, serverMessage: "chmod o+x \(parent) failed")
                }
            }
            parent = (parent as NSString).deletingLastPathComponent
        }
    }

    private func handToServiceUser(_ path: String) throws {
        guard runsAsRoot else { return }
        guard let user = getpwnam(serviceUser) else {
            throw PostgresError(code: .clusterControl, serverMessage: "user \(serviceUser) does not exist")
        }
        let uid = user.pointee.pw_uid, gid = user.pointee.pw_gid
        guard chown(path, uid, gid) == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "chown \(path) failed")
        }
    }

    static func findBinDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions {
            let bin = "\(root)/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: bin + "/pg_ctl") { return bin }
        }
        return nil
    }

    private func executablePath(_ tool: String) -> String {
        if let binDirectory { return binDirectory + "/" + tool }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return tool
    }

    /// Runs a PostgreSQL tool (as the service user when root) and returns its output.
    @discardableResult
    private func run(_ tool: String, _ arguments: [String]) async throws -> String {
        var command = [executablePath(tool)] + arguments
        if runsAsRoot {
            command = ["/usr/sbin/runuser", "-u", serviceUser, "--"] + command
        }
        let (status, text) = try await ToolProcess.output(command)
        guard status == 0 else {
            throw PostgresError(code: .clusterControl, serverMessage: "\(tool) exited with \(status): \(text)")
        }
        return text
    }
}
