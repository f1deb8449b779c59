import MovRPostgres
import MovRRPC
import MovRService

/// Database access for the services that own a database (users, vehicles, rides). A module of
/// its own so the gateway, which has none, does not link libpq.
extension ServiceRuntime {
    /// A pooled database client for this service's own database (`--database-url`).
    public func makeDatabase() throws -> PostgresClient {
        let url = try configuration.require("database-url")
        var settings = PostgresConfiguration(url: url)
        settings.poolSize = try configuration.int("db-pool-size", default: 8)
        settings.applicationName = "movr-\(identity.rawValue)-\(region)"
        settings.dialect = SQLDialect(rawValue: configuration.string("dialect", default: "postgres")) ?? .postgres
        // Every statement counts against the request's round-trip budget (docs/API.md).
        settings.statementObserver = { RequestCost.current?.addStatement() }
        return PostgresClient(configuration: settings, logger: logger)
    }

    /// Regional reads for this service's database: the standby of `--replica-database-url`
    /// (if any) for read-only methods, within `--replica-max-lag-ms` (2000), and `X-MovR-LSN`
    /// on write replies with `--report-write-lsn` (docs/architecture.md §8).
    public func makeRegionalReads(primary: PostgresClient) throws -> RegionalReads {
        let replica = try configuration.string("replica-database-url").map { url in
            var settings = PostgresConfiguration(url: url)
            settings.poolSize = try configuration.int("db-pool-size", default: 8)
            settings.applicationName = "movr-\(identity.rawValue)-\(region)-replica"
            settings.dialect = primary.configuration.dialect
            return PostgresClient(configuration: settings, logger: logger)
        }
        let maxLag = try configuration.int("replica-max-lag-ms", default: 2000)
        guard maxLag > 0 else { throw ConfigurationError(message: "replica-max-lag-ms must be positive") }
        return RegionalReads(primary: primary, replica: replica, maxLag: .milliseconds(maxLag),
                             reportsWritePosition: try configuration.bool("report-write-lsn", default: false),
                             logger: logger)
    }
}
