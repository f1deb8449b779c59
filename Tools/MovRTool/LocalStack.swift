import Foundation
import Logging
import MovRDevTools
import MovRInternalAPI
import MovRLocality
import MovRPostgres
import MovRRPC
import MovRRPCTransport
import MovRService
import MovRTLS
import MovRWAN
import NIOPosix

/// `movr up`: the whole system on one machine — a private PostgreSQL cluster, certificates,
/// databases and migrations, demo data, and gateway + services for every region of the
/// locality map — until SIGINT or SIGTERM.
public struct LocalStack: Sendable {
    public struct Options: Sendable {
        /// State directory (`.movr`): pgdata, certs, logs, stack.json.
        public var directory: String = ".movr"
        /// Region i listens on base+10i+3 (gateway), +4 (users), +5 (vehicles), +6 (rides).
        public var portBase: Int = 8440
        public var postgresPort: Int?
        /// Only these regions (default: every region of the map).
        public var regions: [String]?
        public var seedDemoData: Bool = true
        /// Directory holding the movr-* executables (default: next to this one).
        public var binaryDirectory: String?
        public var logLevel: String = "info"
        /// Stop when the parent process exits (so a test run never leaves a stack behind).
        public var exitWithParent: Bool = false
        /// Extra MOVR_* settings given to every executable (e.g. fault points in tests).
        public var extraEnvironment: [String: String] = [:]
        /// Put a latency-injecting proxy on every link between regions (docs/operations.md).
        public var wan: Bool = false
        public var wanJitterMs: Int = 0
        /// Probability (0...1) that a chunk on a WAN link needs a retransmission.
        public var wanLoss: Double = 0
        /// A streaming-replication hot standby per region other than the database's.
        public var replicas: Bool = false
        /// Replica reads are allowed while the standby is at most this far behind.
        public var replicaMaxLagMs: Int = 2000
        /// False: gateways call their own region's services for every city (benchmarks show
        /// what home-region routing saves).
        public var homeRegionRouting: Bool = true
        /// A proxy (no delay) on every link between executables and to the database, which
        /// resets its connections on request (`<dir>/faults/reset`; `make test-faults`).
        public var faultProxies: Bool = false
        /// Event-loop threads per executable (`MOVR_EVENT_LOOPS`; 0: one per core). One each
        /// cost less CPU per request on a one-region stack but lengthened the tail of the
        /// four-region benchmark (docs/benchmarks.md, run 14), so the default stays one per core.
        public var eventLoops: Int = 0
        /// Database connections per service process (`MOVR_DB_POOL_SIZE`; 0: the services'
        /// default). Given to every executable that owns a database.
        public var dbPoolSize: Int = 0

        public init() {}
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public static let serviceOrder: [ServiceIdentity] = [.users, .vehicles, .rides, .gateway]

    /// `postgresql.conf` of the stack's server and its standbys (a hot standby refuses to run
    /// with fewer connections than its primary). Every region's three services use this one
    /// server, each pool keeping up to `--db-pool-size` (8) connections through lulls: 96 with
    /// four regions, beside `movr`'s own and a benchmark's pgbench clients (16).
    static let databaseSettings = ["max_connections": "200"]

    static func port(base: Int, regionIndex: Int, identity: ServiceIdentity) -> Int {
        let offset: Int
        switch identity {
        case .gateway: offset = 3
        case .users: offset = 4
        case .vehicles: offset = 5
        case .rides: offset = 6
        case .operator: offset = 0
        }
        return base + 10 * regionIndex + offset
    }

    /// Runs until a signal arrives; everything started is stopped before returning.
    public func run() async throws {
        let fileManager = FileManager.default
        let root = fileManager.currentDirectoryPath
        let directory = options.directory.hasPrefix("/") ? options.directory : "\(root)/\(options.directory)"
        try fileManager.createDirectory(atPath: "\(directory)/logs", withIntermediateDirectories: true)
        let certs = "\(directory)/certs"
        let binaries = options.binaryDirectory
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let locality = try Locality.loadDefault()
        let regions = options.regions ?? locality.regions.map(\.name)
        for region in regions where locality.region(named: region) == nil {
            throw StackError("unknown region \(region)")
        }

        // 1. Database cluster, owned by an unprivileged user even when we are root, with a
        //    password per role (SCRAM-SHA-256) in `secrets/`.
        let postgresPort = options.postgresPort ?? options.portBase + 100
        let secrets = try Self.createDatabasePasswords(directory: directory)
        let cluster = LocalPostgresCluster(dataDirectory: "\(directory)/pgdata", port: postgresPort,
                                           passwordFile: secrets.superuserFile, socketDirectory: nil,
                                           settings: Self.databaseSettings)
        try await cluster.initialize()
        // A previous `movr up` that died without stopping its database left it running.
        if await cluster.isRunning { try await cluster.stop() }
        try await cluster.start()
        do {
            try await bringUp(cluster: cluster, passwords: secrets.passwords, directory: directory, certs: certs,
                              binaries: binaries, regions: regions, locality: locality)
        } catch {
            try? await cluster.stop()
            throw error
        }
    }

    /// `<directory>/secrets/` (0700): `postgres.pgpass`, the superuser's libpq password file
    /// (owned by the PostgreSQL OS user when root: a standby's WAL receiver reads it), and
    /// `<role>.pgpass` per service role, each 0600 with one random password, made once. URLs
    /// name these files (`passfile=`), so no password is in a URL, the stack file or a log.
    static func createDatabasePasswords(directory: String) throws
        -> (superuserFile: String, passwords: [OwnedDatabase: String]) {
        let secrets = "\(directory)/secrets"
        try FileManager.default.createDirectory(atPath: secrets, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let superuserFile = "\(secrets)/postgres.pgpass"
        try LocalPostgresCluster.createPasswordFile(at: superuserFile, role: "postgres", owner: "postgres")
        var passwords: [OwnedDatabase: String] = [:]
        for database in OwnedDatabase.allCases {
            passwords[database] = try LocalPostgresCluster.createPasswordFile(
                at: DatabaseSetup.passwordFile(forRole: database.name, nextTo: superuserFile), role: database.name)
        }
        return (superuserFile, passwords)
    }

    private func bringUp(cluster: LocalPostgresCluster, passwords: [OwnedDatabase: String], directory: String,
                         certs: String, binaries: String, regions: [String], locality: Locality) async throws {
        let superuserURL = cluster.superuserURL
        try await DatabaseSetup.createDatabases(superuserURL: superuserURL, passwords: passwords, logger: logger)
        let applied = try await DatabaseSetup.migrate(superuserURL: superuserURL, logger: logger)
        logger.info("migrations applied", metadata: ["versions": "\(applied)"])

        // 2. Certificates for every identity; as root, readable by the account the executables
        //    become (they give up root at start: docs/operations.md, "Running as root").
        try CertificateSetup.ensure(directory: certs)
        try FileManager.default.createDirectory(atPath: "\(directory)/logs", withIntermediateDirectories: true)
        try await ServiceAccount.prepare(
            certificates: certs,
            passwordFiles: OwnedDatabase.allCases.map {
                DatabaseSetup.passwordFile(forRole: $0.name, nextTo: "\(directory)/secrets/postgres.pgpass")
            },
            writableDirectories: [ProcessInfo.processInfo.environment["MOVR_FAULT_DIR"]].compactMap { $0 },
            logDirectory: "\(directory)/logs")

        // 3. Topology, written before the services start because they read it.
        var endpoints: [String: Topology.RegionEndpoints] = [:]
        for region in regions {
            let index = locality.regions.firstIndex(where: { $0.name == region }) ?? 0
            func url(_ identity: ServiceIdentity) -> String {
                "https://127.0.0.1:\(Self.port(base: options.portBase, regionIndex: index, identity: identity))"
            }
            endpoints[region] = Topology.RegionEndpoints(gateway: url(.gateway), users: url(.users),
                                                          vehicles: url(.vehicles), rides: url(.rides))
        }
        let stackPath = "\(directory)/stack.json"
        let primary = regions.contains(locality.primaryRegion) ? locality.primaryRegion : regions[0]

        // 4. The WAN simulator (delays switched on after the demo data) and the standbys.
        let network = try await startNetwork(cluster: cluster, directory: directory, regions: regions,
                                             primary: primary, locality: locality, endpoints: endpoints)
        do {
            try writeStackFile(path: stackPath, directory: directory, superuserURL: superuserURL,
                               primaryRegion: primary, endpoints: endpoints, network: network)
        } catch {
            for standby in network.standbys.values { try? await standby.stop() }
            await network.stopProxies()
            throw error
        }

        // 5. Executables, per region.
        var children: [ChildProcess] = []
        let stopAll = { () async in
            for child in children.reversed() { await child.stop() }
            for standby in network.standbys.values { try? await standby.stop() }
            try? await cluster.stop()
        }
        do {
            for region in regions {
                for identity in Self.serviceOrder {
                    let child = try makeChild(identity: identity, region: region, endpoints: endpoints,
                                              directory: directory, certs: certs, binaries: binaries,
                                              superuserURL: superuserURL, network: network)
                    try await child.start()
                    children.append(child)
                }
            }
            try Self.writePIDs(children: children, path: "\(directory)/pids")
            // A restarted child has a new pid; fault tests (and bench) read the file.
            let supervised = children
            for child in supervised {
                child.afterRestart = { try? Self.writePIDs(children: supervised, path: "\(directory)/pids") }
            }
            try await waitUntilReady(endpoints: endpoints, certs: certs)
            if options.seedDemoData {
                let topology = Topology(regions: endpoints)
                try await DemoData(logger: logger).seed(
                    gatewayURL: try topology.url(of: .gateway, in: primary), caPath: "\(certs)/ca.pem",
                    usersURL: try topology.url(of: .users, in: primary),
                    operatorCertificate: ("\(certs)/operator.pem", "\(certs)/operator.key"), locality: locality)
            }
        } catch {
            await stopAll()
            await network.stopProxies()
            throw error
        }
        if options.wan { network.switchOnDelays(jitterMs: options.wanJitterMs, loss: options.wanLoss) }
        let resets = options.faultProxies ? network.serveResetRequests(directory: "\(directory)/faults") : nil

        Console.line("MovR is up.")
        printNetwork(network)
        for region in regions {
            if let gateway = endpoints[region]?.gateway {
                Console.line("  \(region): gateway \(gateway)/rpc   web UI \(gateway)/")
            }
        }
        Console.line("  stack file: \(stackPath)   logs: \(directory)/logs   CA: \(certs)/ca.pem")
        Console.line("Press Ctrl-C to stop.")

        await Self.waitForTerminationSignal(orParentExit: options.exitWithParent)
        Console.line("stopping...")
        resets?.cancel()
        await stopAll()
        await network.stopProxies()
        try? FileManager.default.removeItem(atPath: "\(directory)/pids")
        Console.line("stopped.")
    }

    /// `--db-pool-size` as each executable gets it: the services that own a database, and only
    /// when given (0 leaves their default).
    static func poolEnvironment(identity: ServiceIdentity, dbPoolSize: Int) -> [String: String] {
        guard dbPoolSize > 0, OwnedDatabase(rawValue: identity.rawValue) != nil else { return [:] }
        return ["MOVR_DB_POOL_SIZE": "\(dbPoolSize)"]
    }

    private func makeChild(identity: ServiceIdentity, region: String, endpoints: [String: Topology.RegionEndpoints],
                           directory: String, certs: String, binaries: String, superuserURL: String,
                           network: LocalNetwork) throws -> ChildProcess {
        guard let listen = endpoints[region]?.url(of: identity).flatMap({ URLComponents(string: $0)?.port }) else {
            throw StackError("no port for \(identity.rawValue) in \(region)")
        }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MOVR_") }
        // The region's env file (shared with compose) first; the local stack's own addresses,
        // certificates and database URLs below take precedence.
        for (key, value) in try Self.regionEnvironment(region: region) { environment[key] = value }
        environment["MOVR_REGION"] = region
        environment["MOVR_LISTEN"] = "127.0.0.1:\(listen)"
        environment["MOVR_CERTS_DIR"] = certs
        environment["MOVR_TOPOLOGY"] = "\(directory)/stack.json"
        environment["MOVR_MIGRATE"] = "false"
        environment["MOVR_LOG_LEVEL"] = options.logLevel
        environment["MOVR_CERT_RELOAD_SECONDS"] = "10"
        if options.eventLoops > 0 { environment["MOVR_EVENT_LOOPS"] = "\(options.eventLoops)" }
        for (key, value) in Self.poolEnvironment(identity: identity, dbPoolSize: options.dbPoolSize) {
            environment[key] = value
        }
        // Children stop by themselves if `movr up` dies without stopping them.
        environment["MOVR_EXIT_WITH_PARENT"] = "true"
        if let localityPath = ProcessInfo.processInfo.environment["MOVR_LOCALITY_CONFIG"] {
            environment["MOVR_LOCALITY_CONFIG"] = localityPath
        }
        if let topologyPath = network.topologyFiles[region] {
            environment["MOVR_TOPOLOGY"] = topologyPath
        }
        if !options.homeRegionRouting {
            environment["MOVR_HOME_REGION_ROUTING"] = "false"
        }
        if let database = OwnedDatabase(rawValue: identity.rawValue) {
            // The primary through this region's WAN link when it lives elsewhere.
            var primaryURL = DatabaseSetup.serviceURL(superuserURL: superuserURL, database: database)
            if let port = WANPlan.databasePort(for: region, links: network.links) {
                primaryURL = WANPlan.replacingPort(of: primaryURL, with: port)
            }
            environment["MOVR_DATABASE_URL"] = primaryURL
            if options.replicas {
                // Every writer reports the WAL position of its writes, for readers elsewhere.
                environment["MOVR_REPORT_WRITE_LSN"] = "true"
                if let standby = network.standbys[region], database != .users {
                    environment["MOVR_REPLICA_DATABASE_URL"] = DatabaseSetup.serviceURL(
                        superuserURL: standby.superuserURL, database: database)
                    environment["MOVR_REPLICA_MAX_LAG_MS"] = "\(options.replicaMaxLagMs)"
                }
            }
        }
        // Every client of a local stack is 127.0.0.1 (tests, load, browsers), so per-client
        // limits would treat them all as one client. The process-wide limits stay: the global
        // registration rate and the bounded hashing queue (docs/operations.md, "Abuse limits").
        switch identity {
        case .users:
            environment["MOVR_REGISTER_PER_CLIENT_PER_MINUTE"] = "100000"
            environment["MOVR_LOGIN_CLIENT_FREE_FAILURES"] = "100000"
        case .gateway:
            environment["MOVR_MAX_CONNECTIONS_PER_CLIENT"] = "1024"
        default:
            break
        }
        for (key, value) in options.extraEnvironment { environment[key] = value }
        // Each executable refuses settings it does not declare: the region's file and the
        // forwarded test settings (scrypt cost, fault points) go only where they are accepted.
        let accepted = Set(ExecutableSettings.accepted(by: identity).map(\.environmentName))
        environment = environment.filter { !$0.key.hasPrefix("MOVR_") || accepted.contains($0.key) }
        let executable = "\(binaries)/movr-\(identity.rawValue)"
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw StackError("\(executable) not found; build first (swift build)")
        }
        return ChildProcess(name: "\(region)/\(identity.rawValue)", executable: executable, environment: environment,
                            logPath: "\(directory)/logs/\(region)-\(identity.rawValue).log")
    }

    /// `compose/env/<region>.env` (KEY=VALUE lines, # comments), if present.
    static func regionEnvironment(region: String, root: String = FileManager.default.currentDirectoryPath)
        throws -> [String: String] {
        let path = "\(root)/compose/env/\(region).env"
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        var values: [String: String] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty, !text.hasPrefix("#"), let equals = text.firstIndex(of: "=") else { continue }
            let key = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
            guard key.hasPrefix("MOVR_") else { continue }
            values[key] = String(text[text.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        }
        return values
    }

    private func writeStackFile(path: String, directory: String, superuserURL: String, primaryRegion: String,
                                endpoints: [String: Topology.RegionEndpoints], network: LocalNetwork) throws {
        var regions: [String: Any] = [:]
        for (region, endpoint) in endpoints {
            regions[region] = ["gateway": endpoint.gateway ?? "", "users": endpoint.users ?? "",
                               "vehicles": endpoint.vehicles ?? "", "rides": endpoint.rides ?? ""]
        }
        var stack: [String: Any] = [
            "ca": "\(directory)/certs/ca.pem",
            "client_cert": "\(directory)/certs/operator.pem",
            "client_key": "\(directory)/certs/operator.key",
            "database_url": superuserURL,
            "primary_region": primaryRegion,
            "regions": regions,
        ]
        if options.wan {
            stack["wan"] = ["jitter_ms": options.wanJitterMs, "loss": options.wanLoss,
                            "links": network.links.map(\.json)]
        }
        if !network.standbys.isEmpty {
            stack["replicas"] = network.standbys.mapValues(\.superuserURL)
        }
        stack["home_region_routing"] = options.homeRegionRouting
        let data = try JSONSerialization.data(withJSONObject: stack, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    private static func writePIDs(children: [ChildProcess], path: String) throws {
        let lines = children.compactMap { child in child.pid.map { "\($0) \(child.name)" } }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Polls every service until it answers `system.ping` (and each gateway `cities.list`).
    private func waitUntilReady(endpoints: [String: Topology.RegionEndpoints], certs: String) async throws {
        let tls = try TLSContextProvider(
            configuration: TLSConfiguration(certificateChainPath: "\(certs)/operator.pem",
                                            privateKeyPath: "\(certs)/operator.key",
                                            trustRootsPath: "\(certs)/ca.pem"),
            role: .client)
        let deadline = ContinuousClock.now + .seconds(90)
        for (region, endpoint) in endpoints.sorted(by: { $0.key < $1.key }) {
            for identity in Self.serviceOrder {
                guard let url = endpoint.url(of: identity) else { continue }
                // A gateway is probed on its public listener, whose certificate names localhost and
                // 127.0.0.1 (the URL's host), not the internal identity.
                let serverName = identity == .gateway ? nil : identity.serverName
                let client = RPCClient(endpoint: try RPCEndpoint(url: url, serverName: serverName),
                                       tls: tls, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
                let method = identity == .gateway ? "cities.list" : "system.ping"
                while true {
                    do {
                        _ = try await client.call(method, params: .object([:]),
                                                  options: RPCCallOptions(deadline: .now + .seconds(2), idempotent: true))
                        break
                    } catch {
                        guard ContinuousClock.now < deadline else {
                            await client.shutdown()
                            throw StackError("\(region)/\(identity.rawValue) did not become ready; see its log")
                        }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
                await client.shutdown()
            }
        }
    }

    /// Suspends until SIGINT or SIGTERM (or the parent process is gone, when asked).
    static func waitForTerminationSignal(orParentExit: Bool) async {
        let parent = getppid()
        let stream = AsyncStream<Int32> { continuation in
            if orParentExit {
                Task.detached {
                    while getppid() == parent { try? await Task.sleep(for: .milliseconds(500)) }
                    continuation.yield(SIGTERM)
                }
            }
            var sources: [any DispatchSourceSignal] = []
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { continuation.yield(signalNumber) }
                source.resume()
                sources.append(source)
            }
            let retained = SignalSources(sources: sources)
            continuation.onTermination = { _ in retained.cancel() }
        }
        for await _ in stream { break }
    }
}

/// Keeps the signal sources alive for the stream's lifetime; cancel() is thread-safe in Dispatch.
private final class SignalSources: @unchecked Sendable {
    // Immutable after init; DispatchSource.cancel may be called from any thread.
    let sources: [any DispatchSourceSignal]
    init(sources: [any DispatchSourceSignal]) { self.sources = sources }
    func cancel() { sources.forEach { $0.cancel() } }
}
