@testable import MovRGateway
import Testing

/// The gateway's memory of unreachable home-region services: skipped for `retryAfter`, tried
/// again afterwards, forgotten once they answer; logged once per outage.
@Suite struct UnreachableServicesTests {
    @Test func skipsForTheRetryPeriodThenTriesAgain() {
        let services = UnreachableServices(retryAfter: .seconds(5))
        let start = ContinuousClock.now
        #expect(!services.isSkipped("vehicles@us-east1", now: start))
        #expect(services.markUnreachable("vehicles@us-east1", now: start), "the first failure of an outage is logged")
        #expect(services.isSkipped("vehicles@us-east1", now: start + .seconds(4)))
        #expect(!services.isSkipped("rides@us-east1", now: start + .seconds(4)), "per service and region")
        #expect(!services.isSkipped("vehicles@us-east1", now: start + .seconds(5)), "tried again after the period")
        #expect(!services.markUnreachable("vehicles@us-east1", now: start + .seconds(5)), "same outage: not logged again")
        #expect(services.isSkipped("vehicles@us-east1", now: start + .seconds(6)))
        services.markReachable("vehicles@us-east1")
        #expect(!services.isSkipped("vehicles@us-east1", now: start + .seconds(6)))
        #expect(services.markUnreachable("vehicles@us-east1", now: start + .seconds(7)), "a new outage is logged")
    }
}
