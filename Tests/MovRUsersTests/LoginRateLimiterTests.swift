import NIOConcurrencyHelpers
import Testing
@testable import MovRUsers

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let start = ContinuousClock.now
    private let offset = NIOLockedValueBox<Duration>(.zero)

    func advance(by duration: Duration) {
        offset.withLockedValue { $0 += duration }
    }

    var now: ContinuousClock.Instant { start + offset.withLockedValue { $0 } }
}

@Suite struct LoginRateLimiterTests {
    func makeLimiter(_ clock: ManualClock, perSecond: Int = 1000) -> LoginRateLimiter {
        LoginRateLimiter(policy: .init(maxFailures: 5, window: .seconds(300), maxAttemptsPerSecond: perSecond),
                         now: { clock.now })
    }

    @Test func sixthAttemptWithinTheWindowIsRefused() {
        let clock = ManualClock()
        let limiter = makeLimiter(clock)
        for _ in 0..<5 {
            #expect(limiter.beginAttempt(username: "alice") == .allowed)
            clock.advance(by: .seconds(10))
        }
        #expect(limiter.beginAttempt(username: "alice") == .usernameLocked)
        #expect(limiter.beginAttempt(username: "bob") == .allowed, "other usernames are not affected")
    }

    @Test func lockLiftsWhenTheOldestFailureLeavesTheWindow() {
        let clock = ManualClock()
        let limiter = makeLimiter(clock)
        for _ in 0..<5 {
            #expect(limiter.beginAttempt(username: "alice") == .allowed)
            clock.advance(by: .seconds(60))
        }
        // Failures at 0, 60, 120, 180, 240; now 300: the first is exactly 300 s old, out of window.
        #expect(limiter.beginAttempt(username: "alice") == .allowed)
        // Failures at 60…300: five within the window again.
        #expect(limiter.beginAttempt(username: "alice") == .usernameLocked)
        clock.advance(by: .seconds(59))
        #expect(limiter.beginAttempt(username: "alice") == .usernameLocked)
        clock.advance(by: .seconds(2))
        #expect(limiter.beginAttempt(username: "alice") == .allowed)
    }

    @Test func refusedAttemptsDoNotExtendTheLock() {
        let clock = ManualClock()
        let limiter = makeLimiter(clock)
        for _ in 0..<5 { #expect(limiter.beginAttempt(username: "carol") == .allowed) }
        for _ in 0..<20 {
            clock.advance(by: .seconds(14))
            #expect(limiter.beginAttempt(username: "carol") == .usernameLocked)
        }
        clock.advance(by: .seconds(21))
        #expect(limiter.beginAttempt(username: "carol") == .allowed)
    }

    @Test func successResetsTheCounter() {
        let clock = ManualClock()
        let limiter = makeLimiter(clock)
        for _ in 0..<4 { #expect(limiter.beginAttempt(username: "dave") == .allowed) }
        limiter.recordSuccess(username: "dave")
        #expect(limiter.trackedUsernames == 0)
        for _ in 0..<5 { #expect(limiter.beginAttempt(username: "dave") == .allowed) }
        #expect(limiter.beginAttempt(username: "dave") == .usernameLocked)
    }

    @Test func processWideCapRefillsOverTime() {
        let clock = ManualClock()
        let limiter = makeLimiter(clock, perSecond: 50)
        for index in 0..<50 {
            #expect(limiter.beginAttempt(username: "user\(index)") == .allowed)
        }
        #expect(limiter.beginAttempt(username: "another") == .processBusy)
        clock.advance(by: .milliseconds(100))
        for index in 0..<5 {
            #expect(limiter.beginAttempt(username: "later\(index)") == .allowed)
        }
        #expect(limiter.beginAttempt(username: "one-more") == .processBusy)
        clock.advance(by: .seconds(10))
        // The bucket holds at most one second's worth.
        for index in 0..<50 {
            #expect(limiter.beginAttempt(username: "refilled\(index)") == .allowed)
        }
        #expect(limiter.beginAttempt(username: "over") == .processBusy)
    }

    @Test func staleUsernamesArePruned() {
        let clock = ManualClock()
        let limiter = makeLimiter(clock, perSecond: 100_000)
        for index in 0..<1024 {
            _ = limiter.beginAttempt(username: "old\(index)")
        }
        #expect(limiter.trackedUsernames == 1024)
        clock.advance(by: .seconds(301))
        #expect(limiter.beginAttempt(username: "fresh") == .allowed)
        #expect(limiter.trackedUsernames == 1)
    }
}
