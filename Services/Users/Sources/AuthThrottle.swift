import NIOConcurrencyHelpers

/// Throttles the two unauthenticated methods that cost a password hash, in memory, per users
/// process (docs/architecture.md §3 "Abuse limits"):
///
/// - **Login**: failures are counted per (client, username), per client and per username. A
///   key past its free failures must wait before its next attempt, doubling per further failure
///   (1 s, 2 s, 4 s … up to `maxBackoff`): a slowdown, never a lock. The per-username wait is
///   capped at `usernameMaxBackoff`, so guesses spread over many addresses cost the account's
///   owner at most that much delay, while they pay it on every guess. An attacker on one address
///   cannot slow anyone else down: other clients' (client, username) and client keys are untouched.
/// - **Registration**: a token bucket per client and one for the whole process.
///
/// An admitted login attempt counts as a failure at once and is forgiven by
/// ``loginSucceeded(client:username:)``; otherwise a burst of concurrent guesses could all pass
/// before the first one failed. Refused attempts change nothing, so they do not extend a wait.
/// Counters older than `window` are dropped.
public final class AuthThrottle: Sendable {
    public struct Policy: Sendable, Hashable {
        /// Failures within `window` before a (client, username) pair must wait.
        public var pairFreeFailures = 5
        /// Failures within `window` before a client (any usernames) must wait.
        public var clientFreeFailures = 30
        /// Failures within `window` before a username (from any clients) is slowed.
        public var usernameFreeFailures = 100
        public var window: Duration = .seconds(900)
        public var maxBackoff: Duration = .seconds(300)
        /// The longest wait failures from others can impose on a username.
        public var usernameMaxBackoff: Duration = .seconds(1)
        /// Registrations per client per minute (also the burst).
        public var registrationsPerClientPerMinute = 10
        /// Registrations of the whole process per second (also the burst).
        public var registrationsPerSecond = 20

        public init() {}
    }

    public enum Decision: Sendable, Hashable {
        case allowed
        /// Refused; the caller may try again after this long.
        case retryAfter(Duration)
    }

    public let policy: Policy
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state: NIOLockedValueBox<State>

    private struct Failures {
        var count: Int
        var last: ContinuousClock.Instant
    }

    private struct Bucket {
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
    }

    private enum Key: Hashable {
        case pair(client: String, username: String)
        case client(String)
        case username(String)
    }

    private struct State {
        var failures: [Key: Failures] = [:]
        var registrationBuckets: [String: Bucket] = [:]
        var globalRegistrations: Bucket
        var pruneAt = 1024
        var prunedAt: ContinuousClock.Instant
    }

    /// - Parameter now: the clock; tests inject a manual one.
    public init(policy: Policy = Policy(),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.policy = policy
        self.now = now
        let start = now()
        state = NIOLockedValueBox(State(globalRegistrations: Bucket(tokens: Double(policy.registrationsPerSecond),
                                                                    refilledAt: start),
                                        prunedAt: start))
    }

    // MARK: Login

    /// Admits or refuses one login attempt of `client` (an address, or `-` when unknown) for
    /// `username` (already normalized).
    public func beginLogin(client: String, username: String) -> Decision {
        let now = self.now()
        let policy = self.policy
        return state.withLockedValue { state in
            Self.pruneIfNeeded(&state, now: now, window: policy.window)
            let keys: [(Key, Int, Duration)] = [
                (.pair(client: client, username: username), policy.pairFreeFailures, policy.maxBackoff),
                (.client(client), policy.clientFreeFailures, policy.maxBackoff),
                (.username(username), policy.usernameFreeFailures, policy.usernameMaxBackoff),
            ]
            var wait = Duration.zero
            for (key, free, cap) in keys {
                wait = max(wait, Self.remainingWait(state.failures[key], now: now, free: free, cap: cap, window: policy.window))
            }
            guard wait == .zero else { return .retryAfter(wait) }
            for (key, _, _) in keys {
                var record = state.failures[key].flatMap { now - $0.last < policy.window ? $0 : nil }
                    ?? Failures(count: 0, last: now)
                record.count += 1
                record.last = now
                state.failures[key] = record
            }
            return .allowed
        }
    }

    /// A wrong password (or unknown user): the attempt was counted when admitted; its waits run
    /// from now, when the answer goes out, not from when the hash was queued.
    public func loginFailed(client: String, username: String) {
        let now = self.now()
        state.withLockedValue { state in
            for key in [Key.pair(client: client, username: username), .client(client), .username(username)] {
                state.failures[key]?.last = now
            }
        }
    }

    /// The attempt ended without a password check (its hash was shed, or the store failed):
    /// its provisional failure is taken back from every key.
    public func loginAbandoned(client: String, username: String) {
        state.withLockedValue { state in
            Self.takeBack(&state, keys: [.pair(client: client, username: username), .client(client), .username(username)])
        }
    }

    /// A correct password: the pair's failures are forgotten, and the attempt's own provisional
    /// failure is taken back from the client and the username.
    public func loginSucceeded(client: String, username: String) {
        state.withLockedValue { state in
            state.failures[.pair(client: client, username: username)] = nil
            Self.takeBack(&state, keys: [.client(client), .username(username)])
        }
    }

    /// Removes one provisional failure from each of `keys`.
    private static func takeBack(_ state: inout State, keys: [Key]) {
        for key in keys {
            guard var record = state.failures[key] else { continue }
            record.count -= 1
            state.failures[key] = record.count > 0 ? record : nil
        }
    }

    /// How long a key must still wait: nothing up to `free` failures, then 1 s doubling per
    /// further failure up to `cap`, counted from its last failure.
    private static func remainingWait(_ record: Failures?, now: ContinuousClock.Instant, free: Int, cap: Duration,
                                      window: Duration) -> Duration {
        guard let record, record.count >= free, now - record.last < window else { return .zero }
        let doublings = min(record.count - free, 20)
        let backoff = min(Duration.seconds(Int64(1) << doublings), cap)
        let elapsed = now - record.last
        return elapsed >= backoff ? .zero : backoff - elapsed
    }

    // MARK: Registration

    /// Admits or refuses one registration of `client`.
    public func beginRegistration(client: String) -> Decision {
        let now = self.now()
        let policy = self.policy
        return state.withLockedValue { state in
            Self.pruneIfNeeded(&state, now: now, window: policy.window)
            let perClient = Double(policy.registrationsPerClientPerMinute)
            var mine = state.registrationBuckets[client] ?? Bucket(tokens: perClient, refilledAt: now)
            Self.refill(&mine, capacity: perClient, perSecond: perClient / 60, now: now)
            var global = state.globalRegistrations
            let perSecond = Double(policy.registrationsPerSecond)
            Self.refill(&global, capacity: perSecond, perSecond: perSecond, now: now)
            state.globalRegistrations = global
            state.registrationBuckets[client] = mine
            guard mine.tokens >= 1 else {
                return .retryAfter(.milliseconds(Int64(((1 - mine.tokens) / (perClient / 60) * 1000).rounded(.up))))
            }
            guard global.tokens >= 1 else {
                return .retryAfter(.milliseconds(Int64(((1 - global.tokens) / perSecond * 1000).rounded(.up))))
            }
            state.registrationBuckets[client]?.tokens -= 1
            state.globalRegistrations.tokens -= 1
            return .allowed
        }
    }

    private static func refill(_ bucket: inout Bucket, capacity: Double, perSecond: Double, now: ContinuousClock.Instant) {
        let elapsed = now - bucket.refilledAt
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        bucket.tokens = min(capacity, bucket.tokens + max(0, seconds) * perSecond)
        bucket.refilledAt = now
    }

    // MARK: Bookkeeping

    /// Keys currently tracked (failure records and registration buckets), for tests and metrics.
    public var trackedKeys: Int {
        state.withLockedValue { $0.failures.count + $0.registrationBuckets.count }
    }

    /// Drops failure records older than the window and registration buckets idle for a minute
    /// (full again), once the maps have doubled since the last pass or a window has passed: the
    /// rates above bound what remains.
    private static func pruneIfNeeded(_ state: inout State, now: ContinuousClock.Instant, window: Duration) {
        guard state.failures.count + state.registrationBuckets.count >= state.pruneAt
            || now - state.prunedAt >= window else { return }
        state.prunedAt = now
        state.failures = state.failures.filter { now - $0.value.last < window }
        state.registrationBuckets = state.registrationBuckets.filter { now - $0.value.refilledAt < .seconds(60) }
        state.pruneAt = max(1024, (state.failures.count + state.registrationBuckets.count) * 2)
    }
}
