import MovRRPC
import MovRRPCTransport

/// What one request of a load run came to.
public enum LoadOutcome: Sendable, Equatable {
    case success
    /// A domain answer the workload provokes by design (e.g. two workers racing for the same
    /// vehicle get `409 vehicle_unavailable`); counted apart from errors.
    case expected(String)
    case error(String)

    /// The JSON-RPC code and reason (`409 vehicle_unavailable`), or the kind of a failure that
    /// never reached JSON-RPC (`transport: ...`).
    public static func kind(of error: any Error) -> String {
        if let error = error as? RPCError {
            return error.data?.reason.map { "\(error.code) \($0)" } ?? "\(error.code)"
        }
        // Nothing was sent (connection refused, TLS failed): the gateway never accepted it.
        // Still a 503 (retryable) for whoever classifies by code, e.g. make test-compose.
        if error is RPCUnreachableError { return "503 not_sent" }
        if error is CancellationError { return "transport: cancelled" }
        return "transport: \(type(of: error))"
    }
}

/// One request as a worker reports it to the engine.
public struct LoadStep: Sendable {
    public var operation: LoadOperation
    public var outcome: LoadOutcome

    public init(_ operation: LoadOperation, _ outcome: LoadOutcome) {
        self.operation = operation
        self.outcome = outcome
    }
}
