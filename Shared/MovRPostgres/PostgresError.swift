/// An error from the PostgreSQL layer.
///
/// `description` is safe to log: it never contains SQL text, bound values, or the server's
/// message (which may quote values). The details are in `debugDescription`.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind of failure. Open for extension: match with `==`, not exhaustively.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connectionFailed, connectionLost, server, decoding, poolClosed, poolTimeout
            case transactionRolledBack, invalidQuery, clusterControl, cancelled
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Connecting (or authenticating) failed.
        public static let connectionFailed = Code(.connectionFailed)
        /// An established connection broke while in use.
        public static let connectionLost = Code(.connectionLost)
        /// The server rejected a statement; see `sqlState`.
        public static let server = Code(.server)
        /// A column value could not be decoded into the requested Swift type.
        public static let decoding = Code(.decoding)
        /// The client was shut down.
        public static let poolClosed = Code(.poolClosed)
        /// No connection became available within the pool's timeout.
        public static let poolTimeout = Code(.poolTimeout)
        /// `COMMIT` ended in a rollback because the transaction had already failed.
        public static let transactionRolledBack = Code(.transactionRolledBack)
        /// The query could not be sent (e.g. an unsupported value or missing column).
        public static let invalidQuery = Code(.invalidQuery)
        /// `initdb`/`pg_ctl` failed while managing a local cluster.
        public static let clusterControl = Code(.clusterControl)
        /// The task was cancelled (its caller went away or its deadline passed) while it waited
        /// for a pooled connection, or for a statement's answer: the statement was then
        /// cancelled at the server (SQLSTATE 57014).
        public static let cancelled = Code(.cancelled)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The five-character SQLSTATE reported by the server, e.g. "23505" or "40001".
    public var sqlState: String?
    /// The constraint named in the server's error (PG_DIAG_CONSTRAINT_NAME).
    public var constraintName: String?
    /// The server's primary message or libpq's error text. May contain values: debug only.
    public var serverMessage: String?
    /// The server's DETAIL field. May contain values: debug only.
    public var serverDetail: String?

    public init(code: Code, sqlState: String? = nil, constraintName: String? = nil,
                serverMessage: String? = nil, serverDetail: String? = nil) {
        self.code = code
        self.sqlState = sqlState
        self.constraintName = constraintName
        self.serverMessage = serverMessage
        self.serverDetail = serverDetail
    }

    /// A serialization failure (40001) or deadlock (40P01): retrying the whole transaction may succeed.
    public var isRetryableTransactionConflict: Bool {
        sqlState == "40001" || sqlState == "40P01"
    }

    /// A unique-constraint violation (23505).
    public var isUniqueViolation: Bool { sqlState == "23505" }

    public var description: String {
        var text = "PostgresError(code: \(code)"
        if let sqlState { text += ", sqlState: \(sqlState)" }
        if let constraintName { text += ", constraint: \(constraintName)" }
        return text + ")"
    }

    public var debugDescription: String {
        var text = "PostgresError(code: \(code)"
        if let sqlState { text += ", sqlState: \(sqlState)" }
        if let constraintName { text += ", constraint: \(constraintName)" }
        if let serverMessage { text += ", message: \(serverMessage.trimmingTrailingWhitespace())" }
        if let serverDetail { text += ", detail: \(serverDetail)" }
        return text + ")"
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var copy = self
        while let last = copy.last, last.isWhitespace { copy.removeLast() }
        return copy
    }
}
