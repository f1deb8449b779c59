import NIOConcurrencyHelpers

/// Hands out send times. Closed loop: a worker sends again as soon as it has its answer, until
/// the end. Open model: request i is due at `start + i / rate`, whoever sends it; a worker
/// takes the next due time, waits for it if it is ahead, and its latency counts from that
/// intended time. When every worker is busy, due times pile up and the wait shows in the
/// latencies instead of silently lowering the rate (no coordinated omission).
public final class LoadSchedule: Sendable {
    public enum Ticket: Equatable, Sendable {
        /// Send now; latency counts from the actual send.
        case now
        /// Send at this instant; latency counts from it even when sent later.
        case at(ContinuousClock.Instant)
    }

    private struct State: Sendable {
        var start: ContinuousClock.Instant?
        var issued = 0
    }

    public let duration: Duration
    private let interval: Duration?
    private let state = NIOLockedValueBox(State())

    public init(duration: Duration, rate: Double?) {
        self.duration = duration
        self.interval = rate.map { Duration.nanoseconds(Int64((1e9 / $0).rounded())) }
    }

    /// When the first ticket was asked for: the run's clock starts with its first worker, so
    /// time spent getting the worker tasks going is not counted as (idle) run time.
    public var start: ContinuousClock.Instant? { state.withLockedValue { $0.start } }

    /// The next request's ticket, or nil when the run is over (past the end, or the next due
    /// time is at or after the end).
    public func next(now: ContinuousClock.Instant = .now) -> Ticket? {
        state.withLockedValue { state -> Ticket? in
            let start = state.start ?? now
            state.start = start
            guard now < start + duration else { return nil }
            guard let interval else { return .now }
            let due = start + interval * state.issued
            guard due < start + duration else { return nil }
            state.issued += 1
            return .at(due)
        }
    }

    /// Open model: requests due before the end.
    public var scheduled: Int? {
        interval.map { Int((duration.inSeconds / $0.inSeconds).rounded(.up)) }
    }

    /// Open model: requests handed out so far.
    public var issuedCount: Int { state.withLockedValue { $0.issued } }
}
