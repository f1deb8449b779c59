import ArgumentParser
import Foundation
import Logging
import MovRLocality
import MovRPostgres
import MovRAPI
import MovRInternalAPI
import MovRService
import MovRServiceDatabase

/// `movr`: the operator's tool.
public struct MovRCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "movr",
        abstract: "Run, set up and check a MovR deployment.",
        subcommands: [Up.self, Certs.self, Migrate.self, GrantAdmin.self, DemoDataCommand.self, Check.self, Health.self, Bench.self, Load.self])

    public init() {}

    static func logger(_ level: String = "warning") -> Logger {
        var logger = Logger(label: "movr")
        logger.logLevel = Logger.Level(rawValue: level) ?? .warning
        return logger
    }
}

extension MovRCommand {
    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the local stack: PostgreSQL, certificates, migrations, demo data, every region's executables.")

        @Option(help: "State directory (database, certificates, logs, stack.json).")
        var dir = ".movr"
        @Option(help: "Region i listens on base+10i+3 (gateway), +4 users, +5 vehicles, +6 rides.")
        var portBase = 8440
        @Option(help: "PostgreSQL port (default: port base + 100).")
        var postgresPort: Int?
        @Option(help: "Comma-separated regions to start (default: all in the locality map).")
        var regions: String?
        @Flag(help: "Skip the demo data.")
        var noDemoData = false
        @Option(help: "Log level of the executables.")
        var logLevel = "info"
        @Flag(help: "Stop everything when the process that started `movr up` exits (test harnesses).")
        var exitWithParent = false
        @Flag(help: "Simulate the WAN: a delaying proxy (one-way = RTT/2 of the region pair) on every link between regions.")
        var wan = false
        @Option(help: "With --wan: extra random delay per chunk, 0...N ms.")
        var wanJitterMs = 0
        @Option(help: "With --wan: probability (0...1) that a chunk is lost and retransmitted (delayed by max(200 ms, RTT)).")
        var wanLoss = 0.0
        @Flag(help: "A streaming-replication hot standby per region other than the database's; regional reads use it.")
        var replicas = false
        @Option(help: "With --replicas: the replication lag (ms) beyond which reads go to the primary.")
        var replicaMaxLagMs = 2000
        @Flag(help: "Gateways call their own region's services for every city (no home-region routing; for comparisons).")
        var noHomeRouting = false
        @Option(help: "Event-loop threads per executable (0: one per core).")
        var eventLoops = 0
        @Option(help: "Database connections per service process (0: the services' default, 8).")
        var dbPoolSize = 0
        @Flag(help: "Fault injection (tests): a proxy on every link between executables and to the database; writing services, postgres or all to <dir>/faults/reset resets their open connections.")
        var faultProxies = false

        func validate() throws {
            if !wan, wanJitterMs != 0 || wanLoss != 0 {
                throw ValidationError("--wan-jitter-ms and --wan-loss need --wan")
            }
            guard wanJitterMs >= 0, (0...1).contains(wanLoss) else {
                throw ValidationError("--wan-jitter-ms must be >= 0 and --wan-loss within 0...1")
            }
            guard replicaMaxLagMs > 0 else { throw ValidationError("--replica-max-lag-ms must be positive") }
            guard (0...SharedSettings.maxEventLoops).contains(eventLoops) else {
                throw ValidationError("--event-loops must be 0 (one per core) to \(SharedSettings.maxEventLoops)")
            }
            guard (0...DatabaseSettings.maxPoolSize).contains(dbPoolSize) else {
                throw ValidationError("--db-pool-size must be 0 (the services' default) to \(DatabaseSettings.maxPoolSize)")
            }
        }

        func run() async throws {
            var options = LocalStack.Options()
            options.directory = dir
            options.portBase = portBase
            options.postgresPort = postgresPort
            options.regions = regions?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            options.seedDemoData = !noDemoData
            options.logLevel = logLevel
            options.exitWithParent = exitWithParent
            options.wan = wan
            options.wanJitterMs = wanJitterMs
            options.wanLoss = wanLoss
            options.replicas = replicas
            options.replicaMaxLagMs = replicaMaxLagMs
            options.homeRegionRouting = !noHomeRouting
            options.faultProxies = faultProxies
            options.eventLoops = eventLoops
            options.dbPoolSize = dbPoolSize
            // Fault injection for tests, the scrypt cost (tests run dozens of sign-ins at once
            // on two cores and lower it) and the connections each executable opens at start
            // (docs/operations.md, "Configuration").
            for (key, value) in ProcessInfo.processInfo.environment
            where key.hasPrefix("MOVR_FAULT") || key == "MOVR_SCRYPT_LOG2N" || key == "MOVR_WARM_CONNECTIONS" {
                options.extraEnvironment[key] = value
            }
            try await LocalStack(options: options, logger: MovRCommand.logger()).run()
        }
    }

    struct Certs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the development CA, a certificate per identity (gateway, users, vehicles, rides, operator) and the gateway's public certificate.")

        @Option(help: "Directory for ca.pem and <identity>.pem/.key.")
        var dir = ".movr/certs"
        @Option(name: .customLong("public-name"), help: "An extra DNS name of the public certificate (repeatable; localhost is always in).")
        var publicNames: [String] = []
        @Option(name: .customLong("postgres-name"), help: "Also issue postgres.pem/.key, a PostgreSQL server certificate for this DNS name (repeatable; localhost and 127.0.0.1 are always in).")
        var postgresNames: [String] = []
        @Flag(help: "Replace existing files (a new CA invalidates every old certificate).")
        var force = false

        func run() async throws {
            let written = try CertificateSetup.ensure(directory: dir, publicNames: publicNames, postgresNames: postgresNames,
                                                      force: force)
            print(written.isEmpty ? "certificates already present in \(dir)" : written.joined(separator: "\n"))
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the per-service databases and roles and apply migrations, or print the DDL.")

        @Option(help: "Superuser URL of the cluster (default: database_url of .movr/stack.json).")
        var databaseURL: String?
        @Flag(help: "Print the DDL instead of applying it.")
        var print = false
        @Option(help: "postgres or cockroach.")
        var dialect = "postgres"
        @Option(help: "CockroachDB survival goal: zone or region.")
        var survive = "zone"
        @Option(help: "CockroachDB: comma-separated database regions (default: the locality map's).")
        var regions: String?
        @Option(help: "CockroachDB: the database's primary region (default: the locality map's).")
        var primaryRegion: String?
        @Option(help: "CockroachDB with --print: comma-separated host:port of the nodes; prints each service's multi-host URL.")
        var hosts: String?

        func run() async throws {
            guard let dialect = SQLDialect(rawValue: dialect) else {
                throw ValidationError("dialect must be postgres or cockroach")
            }
            guard let survival = CockroachSchema.SurvivalGoal(rawValue: survive) else {
                throw ValidationError("survive must be zone or region")
            }
            let locality = try Locality.loadDefault()
            if dialect == .postgres, regions != nil || primaryRegion != nil || hosts != nil {
                throw ValidationError("--regions, --primary-region and --hosts apply to --dialect cockroach")
            }
            let plan: CockroachSchema.RegionPlan
            do {
                plan = try CockroachSchema.RegionPlan(
                    locality: locality, regions: regions?.split(separator: ",").map(String.init), primary: primaryRegion)
            } catch {
                throw ValidationError("\(error)")
            }
            if print {
                let hostList = hosts?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []
                do {
                    Swift.print(try SchemaPrinter.ddl(dialect: dialect, locality: locality, survival: survival,
                                                      plan: plan, hosts: hostList))
                } catch {
                    throw ValidationError("\(error)")
                }
                return
            }
            let url = try databaseURL ?? StackFile.load(".movr/stack.json").databaseURL
            let logger = MovRCommand.logger()
            let applied: [String: [Int]]
            switch dialect {
            case .postgres:
                try await DatabaseSetup.createDatabases(superuserURL: url, logger: logger)
                applied = try await DatabaseSetup.migrate(superuserURL: url, logger: logger)
            case .cockroach:
                applied = try await CockroachSchema.apply(rootURL: url, locality: locality, survival: survival, plan: plan,
                                                          logger: logger)
            }
            for (database, versions) in applied.sorted(by: { $0.key < $1.key }) {
                Swift.print("\(database): \(versions.isEmpty ? "up to date" : "applied \(versions)")")
            }
        }
    }

    struct GrantAdmin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grant-admin", abstract: "Give a user the admin role (may create promo codes).")

        @Argument(help: "Username.")
        var username: String
        @Option(help: "Stack file naming the users service, CA and operator certificate.")
        var stack = ".movr/stack.json"
        @Option(help: "Region whose users service to call (default: the stack's primary region).")
        var region: String?

        func run() async throws {
            let file = try StackFile.load(stack)
            let client = try file.operatorClient(for: .users, region: region, logger: MovRCommand.logger())
            let result = try await client.call("users.grant_role", GrantRoleParams(username: username, role: "admin"),
                                               as: UserResult.self)
            await client.shutdown()
            Swift.print("\(result.user.username) is now an admin")
        }
    }
}

extension MovRCommand {
    /// `movr demo-data`: what `movr up` seeds, for a stack started another way (compose).
    struct DemoDataCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "demo-data",
            abstract: "Seed the demo users, vehicles and promo codes through the stack's primary gateway (skipped when present).")

        @Option(help: "Stack file naming the gateway, the primary region's users service, the CA and the operator certificate.")
        var stack = ".movr/stack.json"

        func run() async throws {
            let file = try StackFile.load(stack)
            try await DemoData(logger: MovRCommand.logger()).seed(
                gatewayURL: try file.topology.url(of: .gateway, in: file.primaryRegion), caPath: file.ca,
                usersURL: try file.topology.url(of: .users, in: file.primaryRegion),
                operatorCertificate: (file.clientCertificate, file.clientKey), locality: try Locality.loadDefault())
            Swift.print("demo data present")
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify docs/architecture.md §2's invariants across the users, vehicles and rides databases.")

        @Option(help: "Superuser URL of the cluster (default: database_url of .movr/stack.json).")
        var databaseURL: String?
        @Option(help: "Seconds a cross-service mismatch may last before it counts as a violation.")
        var bound = 30
        @Option(help: "Seconds to keep re-checking while repairs are pending.")
        var wait = 0
        @Option(help: "Stack file (its standbys are checked too).")
        var stack = ".movr/stack.json"
        @Option(help: "Milliseconds a standby may lag in replay before it counts as a violation.")
        var replicaMaxLagMs = 5000

        func run() async throws {
            let stackFile = try? StackFile.load(stack)
            guard let url = databaseURL ?? stackFile?.databaseURL else {
                throw ValidationError("no --database-url and no readable \(stack); is the stack running (make run)?")
            }
            let logger = MovRCommand.logger()
            let checker = InvariantChecker(superuserURL: url, bound: .seconds(bound), logger: logger)
            var report = try await checker.check(wait: .seconds(wait))
            try await ReplicationCheck(primaryURL: url, standbys: stackFile?.replicas ?? [:],
                                       maxLag: .milliseconds(replicaMaxLagMs), logger: logger).check(into: &report)
            Swift.print(report)
            if !report.isClean { throw ExitCode(2) }
        }
    }
}
