import Logging

extension PostgresClient {
    /// Runs `body` in a transaction: `BEGIN ISOLATION LEVEL …`, body, `COMMIT`; `ROLLBACK` on error.
    ///
    /// A serialization failure or deadlock (SQLSTATE 40001/40P01, from any statement including
    /// COMMIT) reruns the whole body after a jittered exponential backoff, up to `maxAttempts`
    /// times, then rethrows. This is also how CockroachDB's transaction retry errors are handled.
    /// `body` may therefore run more than once and must not have effects outside the database.
    public func withTransaction<R: Sendable>(
        isolation: IsolationLevel = .serializable,
        maxAttempts: Int = 6,
        _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        if configuration.dialect == .cockroach {
            return try await withConnection { connection in
                try await CockroachRetry.run(on: connection, isolation: isolation, maxAttempts: maxAttempts,
                                             logger: logger, body)
            }
        }
        var attempt = 1
        while true {
            do {
                return try await withConnection { connection in
                    try await Self.runTransaction(on: connection, isolation: isolation, body)
                }
            } catch let error as PostgresError where error.isRetryableTransactionConflict && attempt < maxAttempts {
                let delay = TransactionBackoff.delay(afterAttempt: attempt)
                logger.debug("transaction conflict, retrying",
                             metadata: ["attempt": "\(attempt)", "sqlstate": "\(error.sqlState ?? "")"])
                attempt += 1
                try await Task.sleep(nanoseconds: delay)
            }
        }
    }

    private static func runTransaction<R>(
        on connection: PostgresConnection,
        isolation: IsolationLevel,
        _ body: (PostgresConnection) async throws -> R
    ) async throws -> R {
        try await connection.execute("BEGIN ISOLATION LEVEL \(isolation.rawValue)")
        let result: R
        do {
            result = try await body(connection)
        } catch {
            await rollback(connection)
            throw error
        }
        let commit: PostgresRows
        do {
            commit = try await connection.execute("COMMIT")
        } catch {
            // A failed COMMIT has already ended the transaction; ROLLBACK is a harmless no-op.
            await rollback(connection)
            throw error
        }
        // COMMIT of a transaction whose earlier statement failed (and was caught) reports ROLLBACK.
        guard commit.commandTag != "ROLLBACK" else {
            throw PostgresError(code: .transactionRolledBack)
        }
        return result
    }

    private static func rollback(_ connection: PostgresConnection) async {
        // If this fails the connection is broken or still in a transaction; the pool discards it.
        _ = try? await connection.execute("ROLLBACK")
    }
}

/// Jittered exponential backoff for transaction retries: base 5 ms, cap 500 ms, "full jitter".
enum TransactionBackoff {
    static let baseNanoseconds: UInt64 = 5_000_000
    static let capNanoseconds: UInt64 = 500_000_000

    static func delay(afterAttempt attempt: Int) -> UInt64 {
        let exponent = min(max(attempt - 1, 0), 20)
        let ceiling = min(capNanoseconds, baseNanoseconds << UInt64(exponent))
        return UInt64.random(in: ceiling / 2...ceiling)
    }
}

/// CockroachDB's client-side transaction retry protocol: the transaction opens a savepoint named
/// `cockroach_restart`; when a statement (or the RELEASE) fails with SQLSTATE 40001, the client
/// rolls back to the savepoint and reruns the body in the same transaction, which keeps its
/// place in line (priority, timestamps) instead of starting over; RELEASE then COMMIT end it.
///
/// The statements are CockroachDB's documented ones and are pinned by unit tests; they also
/// run on PostgreSQL (where a savepoint of that name is an ordinary one), which is how the
/// tests exercise the protocol here: no CockroachDB can run on these machines.
public enum CockroachRetry {
    public static let savepoint = "SAVEPOINT cockroach_restart"
    public static let rollbackToSavepoint = "ROLLBACK TO SAVEPOINT cockroach_restart"
    public static let releaseSavepoint = "RELEASE SAVEPOINT cockroach_restart"

    static func run<R>(on connection: PostgresConnection, isolation: IsolationLevel, maxAttempts: Int,
                       logger: Logger, _ body: (PostgresConnection) async throws -> R) async throws -> R {
        try await connection.execute("BEGIN ISOLATION LEVEL \(isolation.rawValue)")
        do {
            try await connection.execute(savepoint)
            var attempt = 1
            while true {
                do {
                    let result = try await body(connection)
                    try await connection.execute(releaseSavepoint)
                    let commit = try await connection.execute("COMMIT")
                    guard commit.commandTag != "ROLLBACK" else { throw PostgresError(code: .transactionRolledBack) }
                    return result
                } catch let error as PostgresError where error.sqlState == "40001" && attempt < maxAttempts {
                    logger.debug("transaction retry (savepoint protocol)", metadata: ["attempt": "\(attempt)"])
                    try await connection.execute(rollbackToSavepoint)
                    try await Task.sleep(nanoseconds: TransactionBackoff.delay(afterAttempt: attempt))
                    attempt += 1
                }
            }
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            throw error
        }
    }
}
