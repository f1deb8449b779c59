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

@Suite struct AuthThrottleTests {
    func makeThrottle(_ clock: ManualClock, _ configure: (inout AuthThrottle.Policy) -> Void = { _ in }) -> AuthThrottle {
        var policy = AuthThrottle.Policy()
        configure(&policy)
        return AuthThrottle(policy: policy, now: { clock.now })
    }

    @Test func aPairBacksOffExponentiallyAfterItsFreeFailures() {
        let clock = ManualClock()
        let throttle = makeThrottle(clock)
        for _ in 0..<5 { #expect(throttle.beginLogin(client: "a", username: "alice") == .allowed) }
        #expect(throttle.beginLogin(client: "a", username: "alice") == .retryAfter(.seconds(1)))
        clock.advance(by: .seconds(1))
        #expect(throttle.beginLogin(client: "a", username: "alice") == .allowed)  // 6th failure
        #expect(throttle.beginLogin(client: "a", username: "alice") == .retryAfter(.seconds(2)))
        clock.advance(by: .seconds(2))
        #expect(throttle.beginLogin(client: "a", username: "alice") == .allowed)  // 7th
        clock.advance(by: .seconds(3))
        #expect(throttle.beginLogin(client: "a", username: "alice") == .retryAfter(.seconds(1)), "4 s after the 7th")
        // Refused attempts change nothing: the wait does not grow while the guesser keeps trying.
        for _ in 0..<20 { _ = throttle.beginLogin(client: "a", username: "alice") }
        clock.advance(by: .seconds(1))
        #expect(throttle.beginLogin(client: "a", username: "alice") == .allowed)
    }

    @Test func waitsRunFromTheAnswerAndAbandonedAttemptsDoNotCount() {
        let clock = ManualClock()
        let throttle = makeThrottle(clock)
        for _ in 0..<5 { #expect(throttle.beginLogin(client: "a", username: "zoe") == .allowed) }
        // The fifth hash took two seconds (a long queue); its answer restarts the wait.
        clock.advance(by: .seconds(2))
        throttle.loginFailed(client: "a", username: "zoe")
        #expect(throttle.beginLogin(client: "a", username: "zoe") == .retryAfter(.seconds(1)))
        clock.advance(by: .seconds(1))
        // This attempt's hash is shed: its count is taken back (the wait restarts, but does not grow).
        #expect(throttle.beginLogin(client: "a", username: "zoe") == .allowed)
        throttle.loginAbandoned(client: "a", username: "zoe")
        #expect(throttle.beginLogin(client: "a", username: "zoe") == .retryAfter(.seconds(1)))
        clock.advance(by: .seconds(1))
        #expect(throttle.beginLogin(client: "a", username: "zoe") == .allowed, "still the 6th failure, not the 7th")
        #expect(throttle.beginLogin(client: "a", username: "zoe") == .retryAfter(.seconds(2)))
    }

    @Test func theBackoffIsCappedAndForgottenAfterTheWindow() {
        let clock = ManualClock()
        let throttle = makeThrottle(clock) { $0.maxBackoff = .seconds(8); $0.window = .seconds(60) }
        for _ in 0..<5 { _ = throttle.beginLogin(client: "a", username: "bob") }
        for _ in 0..<10 {
            while case .retryAfter(let wait) = throttle.beginLogin(client: "a", username: "bob") {
                #expect(wait <= .seconds(8))
                clock.advance(by: wait)
            }
        }
        clock.advance(by: .seconds(60))
        for _ in 0..<5 { #expect(throttle.beginLogin(client: "a", username: "bob") == .allowed) }
    }

    @Test func aGuesserDoesNotLockTheOwnerOut() {
        let clock = ManualClock()
        let throttle = makeThrottle(clock)
        for _ in 0..<5 { _ = throttle.beginLogin(client: "attacker", username: "carol") }
        #expect(throttle.beginLogin(client: "attacker", username: "carol") != .allowed)
        #expect(throttle.beginLogin(client: "owner", username: "carol") == .allowed)
        throttle.loginSucceeded(client: "owner", username: "carol")
        #expect(throttle.beginLogin(client: "owner", username: "carol") == .allowed)
    }

    @Test func guessesFromManyAddressesCostTheOwnerAtMostTheUsernameCap() {
        let clock = ManualClock()
        let throttle = makeThrottle(clock) { $0.usernameFreeFailures = 20 }
        for index in 0..<20 { #expect(throttle.beginLogin(client: "bot\(index)", username: "dave") == .allowed) }
        // Every further guess, from anyone, waits one second after the last one.
        #expect(throttle.beginLogin(client: "bot-new", username: "dave") == .retryAfter(.seconds(1)))
        #expect(throttle.beginLogin(client: "owner", username: "dave") == .retryAfter(.seconds(1)))
        clock.advance(by: .seconds(1))
        #expect(throttle.beginLogin(client: "owner", username: "dave") == .allowed)
        throttle.loginSucceeded(client: "owner", username: "dave")
        #expect(throttle.beginLogin(client: "other", username: "erin") == .allowed, "other usernames are unaffected")
    }

    @Test func aClientSprayingUsernamesIsSlowedAsAClient() {
        let clock = ManualClock()
        let throttle = makeThrottle(clock) { $0.clientFreeFailures = 10 }
        for index in 0..<10 { #expect(throttle.beginLogin(client: "sprayer", username: "user\(index)") == .allowed) }
        #expect(throttle.beginLogin(client: "sprayer", username: "fresh") == .retryAfter(.seconds(1)))
        #expect(throttle.beginLogin(client: "someone", username: "fresh") == .allowed)
    }

    @Test func registrationsAreLimitedPerClientAndPerProcess() {
        let clock = ManualClock()
        let throttle = makeThrottle(clock) { $0.registrationsPerClientPerMinute = 3; $0.registrationsPerSecond = 5 }
        for _ in 0..<3 { #expect(throttle.beginRegistration(client: "a") == .allowed) }
        #expect(throttle.beginRegistration(client: "a") == .retryAfter(.seconds(20)))
        #expect(throttle.beginRegistration(client: "b") == .allowed)
        #expect(throttle.beginRegistration(client: "c") == .allowed)
        // The process has had 5 this second: a new client waits for the global bucket.
        #expect(throttle.beginRegistration(client: "d") == .retryAfter(.milliseconds(200)))
        clock.advance(by: .seconds(1))
        #expect(throttle.beginRegistration(client: "d") == .allowed)
        clock.advance(by: .seconds(20))
        #expect(throttle.beginRegistration(client: "a") == .allowed, "one per 20 s refills for a")
    }

    @Test func staleKeysArePruned() {
        let clock = ManualClock()
        let throttle = makeThrottle(clock)
        for index in 0..<400 { _ = throttle.beginLogin(client: "c\(index)", username: "u\(index)") }
        #expect(throttle.trackedKeys == 1200)
        clock.advance(by: .seconds(901))
        _ = throttle.beginLogin(client: "late", username: "late")
        #expect(throttle.trackedKeys == 3)
    }
}
