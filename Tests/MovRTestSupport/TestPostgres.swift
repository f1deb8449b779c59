import Foundation
import Logging
import MovRDevTools
import MovRPostgres
import NIOPosix

/// A real PostgreSQL for tests: one shared cluster per test process, started on first use on a
/// free port under /tmp/movr-test-XXXXXX, plus a fresh database per test. Like `movr up`'s, it
/// asks every connection for the superuser's password (SCRAM-SHA-256), from the password file
/// `<dir>/postgres.pgpass` that the URLs name.
///
/// A watchdog shell process stops the cluster and removes its directory once the test process
/// exits (also after a crash), so no server is left behind.
public enum TestPostgres {
    /// The shared cluster. Do not restart it: tests run in parallel. Use `makePrivateCluster()`.
    public static func sharedCluster() async throws -> LocalPostgresCluster {
        try await SharedCluster.instance.get()
    }

    /// Creates an empty database with a unique name on the shared cluster; returns its URL.
    public static func createDatabase(prefix: String = "t") async throws -> String {
        let cluster = try await sharedCluster()
        let name = uniqueName(prefix: prefix)
        try await retryingConnectionFailures("creating database \(name)") {
            try await cluster.createDatabase(name)
        }
        return cluster.url(database: name)
    }

    /// Runs `body` again (up to three times in all) when it fails to connect, and logs libpq's
    /// message each time. The whole suite starts at once on two cores; CI has seen a connection
    /// to the shared cluster miss even a 20 s `connect_timeout` in the first seconds of a run
    /// (stop 15: four rides tests, `connectionFailed` at 19–20 s). A connection failure happens
    /// before any statement is sent, so running `body` again cannot apply anything twice.
    public static func retryingConnectionFailures<R>(_ what: String, _ body: () async throws -> R) async throws -> R {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as PostgresError where error.code == .connectionFailed && attempt < 3 {
                logger.warning("\(what): connecting failed (attempt \(attempt) of 3), retrying: \(error.debugDescription)")
                attempt += 1
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// A client on a fresh database of the shared cluster. Call `shutdown()` when done.
    ///
    /// Connecting gets 20 s, not the services' 5 s: when the whole suite starts at once on two
    /// cores, a SCRAM handshake has been seen to miss 5 s (a `connectionFailed` in CI); the first
    /// connection is opened before returning, with `retryingConnectionFailures`. Its statements
    /// poll for their answers as the services' do (`--db-spin-us`, whose default is 250), so
    /// every test of the client runs that path too.
    public static func makeClient(poolSize: Int = 4, applicationName: String = "movr-test",
                                  poolTimeoutSeconds: Double = 60, answerSpinMicroseconds: Int = 250) async throws -> PostgresClient {
        let url = try await createDatabase()
        var configuration = PostgresConfiguration(url: url, poolSize: poolSize, connectTimeoutSeconds: 20,
                                                  poolTimeoutSeconds: poolTimeoutSeconds, applicationName: applicationName)
        configuration.answerSpinMicroseconds = answerSpinMicroseconds
        let client = PostgresClient(configuration: configuration, logger: logger)
        // The first connection is opened here, where a slow start can be retried; the test then
        // begins with it idle in the pool.
        do {
            try await retryingConnectionFailures("connecting to \(url)") {
                try await client.withConnection { _ in }
            }
        } catch {
            await client.shutdown()
            throw error
        }
        return client
    }

    /// Runs `body` with a client on a fresh database and shuts the client down afterwards.
    public static func withClient<R>(poolSize: Int = 4, applicationName: String = "movr-test", answerSpinMicroseconds: Int = 250,
                                     _ body: (PostgresClient) async throws -> R) async throws -> R {
        let client = try await makeClient(poolSize: poolSize, applicationName: applicationName,
                                          answerSpinMicroseconds: answerSpinMicroseconds)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// Starts a cluster that belongs to one test (for restarts). Call `stopPrivateCluster` after.
    public static func makePrivateCluster() async throws -> LocalPostgresCluster {
        try await startCluster()
    }

    /// Restarts a private cluster (fast mode: all client connections are killed).
    public static func restart(_ cluster: LocalPostgresCluster) async throws {
        try await cluster.restart()
    }

    public static func stopPrivateCluster(_ cluster: LocalPostgresCluster) async {
        try? await cluster.stop(mode: .immediate)
        try? FileManager.default.removeItem(atPath: (cluster.dataDirectory as NSString).deletingLastPathComponent)
    }

    public static func uniqueName(prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    }

    public static let logger: Logger = {
        var logger = Logger(label: "movr.test.postgres")
        logger.logLevel = .info
        return logger
    }()

    static func startCluster() async throws -> LocalPostgresCluster {
        let (cluster, base) = try await NIOThreadPool.singleton.runIfActive {
            var template = Array("/tmp/movr-test-XXXXXX".utf8CString)
            guard let base = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
                throw PostgresError(code: .clusterControl, serverMessage: "mkdtemp failed")
            }
            let passwordFile = base + "/postgres.pgpass"
            try LocalPostgresCluster.createPasswordFile(at: passwordFile, role: "postgres", owner: "postgres")
            let cluster = LocalPostgresCluster(
                dataDirectory: base + "/data", port: try freePort(), passwordFile: passwordFile, socketDirectory: base,
                settings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                           "max_connections": "400", "shared_buffers": "32MB"])
            if geteuid() == 0, let user = getpwnam(cluster.serviceUser) {
                _ = chown(base, user.pointee.pw_uid, user.pointee.pw_gid)
            }
            return (cluster, base)
        }
        try await startWatchdog(cluster: cluster, base: base)
        try await cluster.initialize()
        try await cluster.start()
        return cluster
    }

    /// Stops the cluster and deletes `base` when this process is gone.
    private static func startWatchdog(cluster: LocalPostgresCluster, base: String) async throws {
        let pgCtl = (cluster.binDirectory.map { $0 + "/pg_ctl" }) ?? "pg_ctl"
        let asUser = geteuid() == 0 ? "/usr/sbin/runuser -u \(cluster.serviceUser) -- " : ""
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            if [ -f '\(cluster.dataDirectory)/postmaster.pid' ]; then \(asUser)'\(pgCtl)' -D '\(cluster.dataDirectory)' -m immediate -w stop; fi
            rm -rf '\(base)'
            """
        // ToolProcess, not Foundation.Process: the watchdog must outlive us and nothing here waits
        // for it. ToolProcess also keeps it from inheriting our sockets: it lives as long as the test
        // process, and a copy of a connection it held would keep that connection open after its
        // owner closed it (a peer would never see the close).
        _ = try await ToolProcess.start(["/bin/sh", "-c", script], outputPath: "/dev/null")
    }

    /// A port the kernel just handed out for 127.0.0.1 (then released for PostgreSQL).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresError(code: .clusterControl, serverMessage: "socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw PostgresError(code: .clusterControl, serverMessage: "bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Starts the shared cluster once, however many tests ask for it concurrently.
private actor SharedCluster {
    static let instance = SharedCluster()
    private var starting: Task<LocalPostgresCluster, any Error>?

    func get() async throws -> LocalPostgresCluster {
        if let starting { return try await starting.value }
        let task = Task { try await TestPostgres.startCluster() }
        starting = task
        return try await task.value
    }
}
