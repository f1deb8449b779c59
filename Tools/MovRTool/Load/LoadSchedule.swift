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

    public let start: ContinuousClock.Instant
    public let end: ContinuousClock.Instant
    private let interval: Duration?
    private let issued = NIOLockedValueBox(0)

    public init(start: ContinuousClock.Instant, duration: Duration, rate: Double?) {
        self.start = start
        self.end = start + duration
        self.interval = rate.map { Duration.nanoseconds(Int64((1e9 / $0).rounded())) }
    }

    /// The next request's ticket, or nil when the run is over (past the end, or the next due
    /// time is at or after the end).
    public func next(now: ContinuousClock.Instant = .now) -> Ticket? {
        guard now < end else { return nil }
        guard let interval else { return .now }
        return issued.withLockedValue { issued -> Ticket? in
            let due = start + interval * issued
            guard due < end else { return nil }
            issued += 1
            return .at(due)
        }
    }

    /// Open model: requests due before the end.
    public var scheduled: Int? {
        guard let interval else { return nil }
        return Int(((end - start).inSeconds / interval.inSeconds).rounded(.up))
    }

    /// Open model: requests handed out so far.
    public var issuedCount: Int { issued.withLockedValue { $0 } }
}
