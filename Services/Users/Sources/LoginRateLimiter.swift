import NIOConcurrencyHelpers

/// Throttles `auth.login` in memory: a sliding window of failures per username, plus a cap on
/// all attempts of the process.
///
/// The limits are per process, which is per region: each region runs its own users service and
/// they share nothing, so an attacker spreading guesses over regions gets each region's
/// allowance. Restarting the process also forgets the counters. Both are accepted: the goal is
/// to make online guessing slow, and scrypt makes every guess expensive regardless.
public final class LoginRateLimiter: Sendable {
    public struct Policy: Sendable, Hashable {
        /// Failed attempts per username within `window` before further attempts are refused.
        public var maxFailures: Int
        public var window: Duration
        /// All login attempts of the process per second (a token bucket of this size).
        public var maxAttemptsPerSecond: Int

        public init(maxFailures: Int = 5, window: Duration = .seconds(300), maxAttemptsPerSecond: Int = 50) {
            self.maxFailures = maxFailures
            self.window = window
            self.maxAttemptsPerSecond = maxAttemptsPerSecond
        }
    }

    public enum Decision: Sendable, Hashable {
        case allowed
        /// This username failed too often recently.
        case usernameLocked
        /// The process takes no more login attempts this second.
        case processBusy
    }

    public let policy: Policy
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state: NIOLockedValueBox<State>

    private struct State {
        /// Per username, the times of recent failures (at most `maxFailures`, oldest first).
        var failures: [String: [ContinuousClock.Instant]] = [:]
        var pruneAt = 1024
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
    }

    /// - Parameter now: the clock; tests inject a manual one.
    public init(policy: Policy = Policy(),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.policy = policy
        self.now = now
        state = NIOLockedValueBox(State(tokens: Double(policy.maxAttemptsPerSecond), refilledAt: now()))
    }

    /// Admits or refuses one attempt for `username` (already normalized).
    ///
    /// An admitted attempt counts as a failure right away and is forgiven by
    /// ``recordSuccess(username:)``: otherwise many concurrent guesses could all pass the check
    /// before the first of them failed.
    public func beginAttempt(username: String) -> Decision {
        let now = self.now()
        let policy = self.policy
        return state.withLockedValue { state in
            let windowStart = now - policy.window
            var recent = state.failures[username, default: []].filter { $0 > windowStart }
            if recent.count >= policy.maxFailures {
                state.failures[username] = recent
                return .usernameLocked
            }

            let elapsed = now - state.refilledAt
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let capacity = Double(policy.maxAttemptsPerSecond)
            state.tokens = min(capacity, state.tokens + max(0, seconds) * capacity)
            state.refilledAt = now
            guard state.tokens >= 1 else { return .processBusy }
            state.tokens -= 1

            recent.append(now)
            if state.failures[username] == nil, state.failures.count >= state.pruneAt {
                Self.prune(&state, before: windowStart)
            }
            state.failures[username] = recent
            return .allowed
        }
    }

    /// A correct password: forgets the username's failures.
    public func recordSuccess(username: String) {
        state.withLockedValue { state in
            _ = state.failures.removeValue(forKey: username)
        }
    }

    /// How many usernames currently have failures on record (for tests and metrics).
    public var trackedUsernames: Int {
        state.withLockedValue { $0.failures.count }
    }

    /// Drops usernames whose failures all left the window. The attempt cap bounds what remains
    /// to about `maxAttemptsPerSecond × window` entries.
    private static func prune(_ state: inout State, before windowStart: ContinuousClock.Instant) {
        state.failures = state.failures.filter { _, times in times.last.map { $0 > windowStart } ?? false }
        state.pruneAt = max(1024, state.failures.count * 2)
    }
}
