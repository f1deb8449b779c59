import NIOConcurrencyHelpers
import NIOPosix

/// The hashing queue is full: the request is shed (the caller may retry later).
public struct PasswordHashingOverloaded: Error, Equatable {}

/// Runs scrypt on a small dedicated thread pool: a hash takes tens of milliseconds of CPU and
/// would otherwise stall every task sharing Swift's cooperative pool. The pool's size also caps
/// how many cores password work can take from the rest of the service.
public struct PasswordHasher: Sendable {
    public let parameters: ScryptParameters
    private let threadPool: NIOThreadPool
    /// Hashes queued or running at most; more are refused with ``PasswordHashingOverloaded``
    /// instead of waiting behind a flood (a queue of thousands would answer everyone late).
    public let maxPending: Int
    /// The longest a new hash may expect to wait for a thread; beyond it the request is shed.
    /// The expected wait is (hashes ahead / threads) x the recent mean time of one hash, so the
    /// bound follows the machine's real speed rather than a guessed queue length.
    public let maxWait: Duration
    private let threads: Int
    private let state: NIOLockedValueBox<State>

    private struct State {
        var pending = 0
        /// Exponentially weighted mean of one hash's time on a thread, in seconds.
        var meanSeconds: Double
    }

    /// Stands in for the stored hash of a user that does not exist. Same parameters as real
    /// hashes, so a login for an unknown name costs as much time as a wrong password.
    private let dummyHash: PasswordHash

    /// - Parameter threadPool: a started pool; its owner shuts it down.
    /// - Parameter threads: how many threads `threadPool` runs (the queue drains that fast).
    public init(threadPool: NIOThreadPool, threads: Int = 1, parameters: ScryptParameters = .standard,
                maxPending: Int = 256, maxWait: Duration = .seconds(2)) {
        self.threadPool = threadPool
        self.parameters = parameters
        self.maxPending = max(1, maxPending)
        self.maxWait = maxWait
        self.threads = max(1, threads)
        // A first guess until hashes are measured: 0.1 s is a standard hash on a slow core.
        self.state = NIOLockedValueBox(State(meanSeconds: 0.1))
        dummyHash = PasswordHash(parameters: parameters,
                                 salt: [UInt8](repeating: 0, count: PasswordHash.saltLength),
                                 key: [UInt8](repeating: 0, count: PasswordHash.keyLength))
    }

    /// The stored form of a new hash of `password`.
    public func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        return try await admitted {
            try Scrypt.hash(password: password, parameters: parameters).encoded
        }
    }

    /// Whether `password` matches `storedHash`. An unreadable stored hash is a mismatch, after
    /// the same work as a real check.
    public func verify(_ password: String, storedHash: String) async throws -> Bool {
        let parsed = PasswordHash(encoded: storedHash)
        let stored = parsed ?? dummyHash
        let matches = try await admitted {
            try Scrypt.verify(password: password, against: stored)
        }
        return parsed != nil && matches
    }

    /// One full verification whose result is discarded, to equalize timing for unknown users.
    public func verifyDummy(_ password: String) async throws {
        let stored = dummyHash
        _ = try await admitted {
            try Scrypt.verify(password: password, against: stored)
        }
    }

    /// Hashes queued or running now (for tests and metrics).
    public var pendingCount: Int { state.withLockedValue { $0.pending } }

    /// The wait a hash admitted now would expect before a thread takes it.
    public var expectedWait: Duration {
        state.withLockedValue { .seconds(Self.wait(ahead: $0.pending, threads: threads, mean: $0.meanSeconds)) }
    }

    private static func wait(ahead: Int, threads: Int, mean: Double) -> Double {
        // While a thread is free there is no wait; beyond that the queue drains `threads` at a time.
        ahead < threads ? 0 : Double(ahead - threads + 1) / Double(threads) * mean
    }

    /// Runs `work` on the pool unless the queue is at ``maxPending`` or the expected wait
    /// exceeds ``maxWait``; records how long the work took for later estimates.
    private func admitted<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let threads = self.threads
        let limit = Self.seconds(maxWait)
        let admitted = state.withLockedValue { state -> Bool in
            guard state.pending < maxPending else { return false }
            if Self.wait(ahead: state.pending, threads: threads, mean: state.meanSeconds) > limit {
                return false
            }
            state.pending += 1
            return true
        }
        guard admitted else { throw PasswordHashingOverloaded() }
        defer { state.withLockedValue { $0.pending -= 1 } }
        let state = self.state
        return try await threadPool.runIfActive {
            let started = ContinuousClock.now
            defer {
                let took = Self.seconds(ContinuousClock.now - started)
                state.withLockedValue { $0.meanSeconds = 0.8 * $0.meanSeconds + 0.2 * took }
            }
            return try work()
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
