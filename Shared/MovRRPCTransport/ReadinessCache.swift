import NIOConcurrencyHelpers

/// Answers `/readyz` from a recent probe: within `validFor` of the last probe every request gets
/// its result, and concurrent requests share one probe in flight. A flood of `/readyz` thus
/// costs at most one round of dependency calls per period.
final class ReadinessCache: Sendable {
    private struct State {
        var last: (ready: Bool, at: ContinuousClock.Instant)?
        var inFlight: Task<Bool, Never>?
    }

    private let probe: @Sendable () async -> Bool
    private let validFor: Duration
    private let state = NIOLockedValueBox(State())

    init(check probe: @escaping @Sendable () async -> Bool, validFor: Duration) {
        self.probe = probe
        self.validFor = validFor
    }

    func check() async -> Bool {
        let now = ContinuousClock.now
        let answer = state.withLockedValue { current -> Result<Bool, Never>? in
            if current.inFlight == nil, let last = current.last, now - last.at < validFor {
                return .success(last.ready)
            }
            return nil
        }
        if case .success(let ready)? = answer { return ready }
        let task = state.withLockedValue { current -> Task<Bool, Never> in
            if let inFlight = current.inFlight { return inFlight }
            let probe = self.probe
            let box = self.state
            let task = Task {
                let ready = await probe()
                box.withLockedValue { $0 = State(last: (ready, .now), inFlight: nil) }
                return ready
            }
            current.inFlight = task
            return task
        }
        return await task.value
    }
}
