import MovRPostgres
import MovRRPC

/// A database that cannot be reached — connecting failed, the connection broke mid-statement, no
/// pooled connection came free, or the server is shutting down or starting (SQLSTATE classes
/// 57P and 08) — answers `503 database_unavailable` (retryable), as an unreachable service does,
/// instead of a 500: during a PostgreSQL restart clients retry and are served once it is back
/// (docs/reliability.md). As with a transport failure, a write whose connection broke may have
/// committed; its retry finds that out (idempotency keys, `ride_already_ended`).
public enum DatabaseUnavailable {
    public static func answer(for error: any Error) -> RPCError? {
        guard let error = error as? PostgresError else { return nil }
        let unreachable = error.code == .connectionFailed || error.code == .connectionLost || error.code == .poolTimeout
            || (error.code == .server && (error.sqlState?.hasPrefix("57P") == true || error.sqlState?.hasPrefix("08") == true))
        return unreachable ? .unavailable(reason: "database_unavailable") : nil
    }
}

extension RPCDispatcher {
    /// This dispatcher, answering an unreachable database with `503 database_unavailable`
    /// (``DatabaseUnavailable``) unless it already translates errors.
    public func answeringDatabaseOutages() -> RPCDispatcher {
        var dispatcher = self
        if dispatcher.errorTranslator == nil { dispatcher.errorTranslator = DatabaseUnavailable.answer(for:) }
        return dispatcher
    }
}
