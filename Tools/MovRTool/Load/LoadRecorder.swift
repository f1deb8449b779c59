import Histogram
import NIOConcurrencyHelpers

/// Collects every request of a run: a latency histogram per operation (HdrHistogram,
/// microseconds, 3 significant digits, up to 5 minutes) and outcome counts. Shared by all
/// workers behind one lock; a record is a few array updates, far below a request's cost.
public final class LoadRecorder: Sendable {
    static let highestMicroseconds: UInt64 = 300_000_000

    struct Tally: Sendable {
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: LoadRecorder.highestMicroseconds,
                                          numberOfSignificantValueDigits: .three)
        var errors = 0
        var expected = 0
    }

    struct State: Sendable {
        var operations: [LoadOperation: Tally] = [:]
        /// (operation, kind) -> (count, expected?)
        var outcomes: [OutcomeKey: Int] = [:]
        var total = 0
        var errors = 0
        var expected = 0
        var late = 0
        /// Requests slower than the threshold, per tenth of a second from the run's start.
        var slowByTenth: [Int] = []
    }

    struct OutcomeKey: Hashable, Sendable {
        var operation: LoadOperation
        var kind: String
        var expected: Bool
    }

    private let state = NIOLockedValueBox(State())
    private let slowThreshold: Duration?

    /// `slowThreshold`: count requests slower than this per tenth of a second (nil: none).
    public init(slowThreshold: Duration? = nil) {
        self.slowThreshold = slowThreshold
    }

    /// Records a request that took `latency` (from its intended send time in the open model),
    /// meant to be sent `offset` after the run's start.
    public func record(_ step: LoadStep, latency: Duration, late: Bool = false, offset: Duration? = nil) {
        let micros = UInt64(clamping: max(1, latency.inMicroseconds))
        var tenth: Int?
        if let slowThreshold, latency > slowThreshold, let offset, offset >= .zero {
            tenth = Int(min(offset.inMicroseconds / 100_000, 36_000))  // at most an hour of tenths
        }
        state.withLockedValue { state in
            if let tenth {
                if state.slowByTenth.count <= tenth {
                    state.slowByTenth.append(contentsOf: repeatElement(0, count: tenth + 1 - state.slowByTenth.count))
                }
                state.slowByTenth[tenth] += 1
            }
            // In place: a copy of the tally taken out of the dictionary would share the
            // histogram's counts, and recording into it would copy all of them (~240 KB) per request.
            _ = state.operations[step.operation, default: Tally()].histogram.record(min(micros, Self.highestMicroseconds))
            state.total += 1
            if late { state.late += 1 }
            switch step.outcome {
            case .success:
                break
            case .expected(let kind):
                state.operations[step.operation]?.expected += 1
                state.expected += 1
                state.outcomes[OutcomeKey(operation: step.operation, kind: kind, expected: true), default: 0] += 1
            case .error(let kind):
                state.operations[step.operation]?.errors += 1
                state.errors += 1
                state.outcomes[OutcomeKey(operation: step.operation, kind: kind, expected: false), default: 0] += 1
            }
        }
    }

    /// Totals so far, for the live progress line.
    public var counts: (total: Int, errors: Int, expected: Int) {
        state.withLockedValue { ($0.total, $0.errors, $0.expected) }
    }

    func snapshot() -> State {
        state.withLockedValue { $0 }
    }
}

extension Duration {
    var inMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1_000_000 &+ attoseconds / 1_000_000_000_000
    }

    var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
