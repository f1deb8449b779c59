import MovRPostgres
import MovRRPC
import MovRRPCTransport
import MovRService

/// Database access for the services that own a database (users, vehicles, rides). A module of
/// its own so the gateway, which has none, does not link libpq.
extension ServiceRuntime {
    /// A pooled database client for this service's own database (`--database-url`).
    public func makeDatabase() throws -> PostgresClient {
        let url = try configuration.require(DatabaseSettings.databaseURL)
        var settings = PostgresConfiguration(url: url)
        settings.poolSize = try DatabaseSettings.poolSize(configuration)
        settings.applicationName = "movr-\(identity.rawValue)-\(region)"
        settings.dialect = SQLDialect(rawValue: try configuration.value(DatabaseSettings.dialect)) ?? .postgres
        settings.answerSpinMicroseconds = try DatabaseSettings.spinMicroseconds(configuration)
        settings.answerSpinGate = DatabaseSettings.spinGate
        // Every statement counts against the request's round-trip budget (docs/API.md).
        settings.statementObserver = { RequestCost.current?.addStatement() }
        return PostgresClient(configuration: settings, logger: logger)
    }

    /// Regional reads for this service's database: the standby of `--replica-database-url`
    /// (if any) for read-only methods, within `--replica-max-lag-ms` (2000), and `X-MovR-LSN`
    /// on write replies with `--report-write-lsn` (docs/architecture.md §8).
    public func makeRegionalReads(primary: PostgresClient) throws -> RegionalReads {
        let replica = try configuration.value(DatabaseSettings.replicaDatabaseURL).map { url in
            var settings = PostgresConfiguration(url: url)
            settings.poolSize = try DatabaseSettings.poolSize(configuration)
            settings.applicationName = "movr-\(identity.rawValue)-\(region)-replica"
            settings.dialect = primary.configuration.dialect
            settings.answerSpinMicroseconds = primary.configuration.answerSpinMicroseconds
            settings.answerSpinGate = primary.configuration.answerSpinGate
            return PostgresClient(configuration: settings, logger: logger)
        }
        let maxLag = try configuration.value(DatabaseSettings.replicaMaxLagMs)
        guard maxLag > 0 else { throw ConfigurationError(message: "replica-max-lag-ms must be positive") }
        return RegionalReads(primary: primary, replica: replica, maxLag: .milliseconds(maxLag),
                             reportsWritePosition: try configuration.value(DatabaseSettings.reportWriteLSN),
                             logger: logger)
    }
}

/// Settings of the executables that own a database (docs/operations.md, "Configuration").
public enum DatabaseSettings {
    public static let databaseURL = Setting<String?>("database-url")
    /// Connections per pool (the primary's, and the standby's with regional reads).
    public static let poolSize = Setting<Int>("db-pool-size", default: 8)
    /// The most ``poolSize`` accepts.
    public static let maxPoolSize = 256
    public static let dialect = Setting<String>("dialect", default: SQLDialect.postgres.rawValue)
    /// Apply the service's migrations before it serves (`movr up` migrates first and sets false).
    public static let migrate = Setting<Bool>("migrate", default: true)
    public static let replicaDatabaseURL = Setting<String?>("replica-database-url")
    public static let replicaMaxLagMs = Setting<Int>("replica-max-lag-ms", default: 2000)
    public static let reportWriteLSN = Setting<Bool>("report-write-lsn", default: false)
    /// How long a statement's sender may poll for its answer before the watcher thread waits
    /// for it (`PostgresConfiguration.answerSpinMicroseconds`); 0 never.
    public static let spinMicroseconds = Setting<Int>("db-spin-us", default: 250)
    /// The most ``spinMicroseconds`` accepts.
    public static let maxSpinMicroseconds = 10_000
    /// When a service's statement may poll: with one request (or none: background work) in
    /// the process and a processor to spare; under load the poll's processor is needed by
    /// other work.
    public static let spinGate: @Sendable () -> Bool = {
        RequestsInFlight.current <= 1 && RunnableThreads.haveAProcessorToSpare()
    }

    /// ``spinMicroseconds``, refused with a clear error outside 0...``maxSpinMicroseconds``.
    public static func spinMicroseconds(_ configuration: ServiceConfiguration) throws -> Int {
        let microseconds = try configuration.value(spinMicroseconds)
        guard (0...maxSpinMicroseconds).contains(microseconds) else {
            throw ConfigurationError(message: "db-spin-us must be 0 to \(maxSpinMicroseconds), not \(microseconds)")
        }
        return microseconds
    }

    /// ``poolSize``, refused with a clear error outside 1...``maxPoolSize`` (a pool of none
    /// would serve nothing; the client would otherwise round it up to one in silence).
    public static func poolSize(_ configuration: ServiceConfiguration) throws -> Int {
        let size = try configuration.value(poolSize)
        guard (1...maxPoolSize).contains(size) else {
            throw ConfigurationError(message: "db-pool-size must be 1 to \(maxPoolSize), not \(size)")
        }
        return size
    }

    /// What every database-owning executable accepts.
    public static let primary: [SettingDeclaration] = [
        databaseURL.declaration, poolSize.declaration, dialect.declaration, migrate.declaration, spinMicroseconds.declaration,
    ]
    /// What an executable with regional reads (`makeRegionalReads`) accepts besides.
    public static let regionalReads: [SettingDeclaration] = [
        replicaDatabaseURL.declaration, replicaMaxLagMs.declaration, reportWriteLSN.declaration,
    ]
}
