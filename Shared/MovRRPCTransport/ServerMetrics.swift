import Metrics
import NIOConcurrencyHelpers

/// The transport's metric handles, made once per status code: creating a swift-metrics handle
/// looks it up in the registry (a lock and string hashing), too costly for every request.
final class ServerMetrics: Sendable {
    private let responses = NIOLockedValueBox<[Int: Counter]>([:])
    private let durations = NIOLockedValueBox<[Int: Timer]>([:])
    private let refused = NIOLockedValueBox<[String: Counter]>([:])

    /// `movr_http_responses_total{status}`.
    func response(status: Int) -> Counter {
        responses.withLockedValue { cache in
            if let counter = cache[status] { return counter }
            let counter = Counter(label: "movr_http_responses_total", dimensions: [("status", String(status))])
            cache[status] = counter
            return counter
        }
    }

    /// `movr_connections_refused_total{reason}`: `server_full` or `client_full`.
    func refusedConnection(reason: String) -> Counter {
        refused.withLockedValue { cache in
            if let counter = cache[reason] { return counter }
            let counter = Counter(label: "movr_connections_refused_total", dimensions: [("reason", reason)])
            cache[reason] = counter
            return counter
        }
    }

    /// `movr_rpc_http_duration{status}`: time from the first request byte to the answer.
    func rpcDuration(status: Int) -> Timer {
        durations.withLockedValue { cache in
            if let timer = cache[status] { return timer }
            let timer = Timer(label: "movr_rpc_http_duration", dimensions: [("status", String(status))])
            cache[status] = timer
            return timer
        }
    }
}
