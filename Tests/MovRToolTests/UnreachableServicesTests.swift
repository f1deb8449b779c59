@testable import MovRGateway
import Testing

/// The gateway's memory of unreachable home-region services: every request goes to this
/// region's service while one is marked; once `retryAfter` has passed since the last failure,
/// exactly one request is told to start a background probe; an answer clears the mark, a failed
/// probe starts another period; logged once per outage.
@Suite struct UnreachableServicesTests {
    @Test func requestsStayLocalWhileOneProbePerPeriodAsksTheHomeRegion() {
        let services = UnreachableServices(retryAfter: .seconds(5))
        let start = ContinuousClock.now
        #expect(services.route("vehicles@us-east1", now: start) == .home)
        #expect(services.markUnreachable("vehicles@us-east1", now: start), "the first failure of an outage is logged")
        #expect(services.route("vehicles@us-east1", now: start + .seconds(4)) == .local)
        #expect(services.route("rides@us-east1", now: start + .seconds(4)) == .home, "per service and region")
        // After the period: one caller probes, the others (and that caller) stay local.
        #expect(services.route("vehicles@us-east1", now: start + .seconds(5)) == .localAndProbe)
        #expect(services.route("vehicles@us-east1", now: start + .seconds(5)) == .local, "one probe at a time")
        #expect(services.route("vehicles@us-east1", now: start + .seconds(9)) == .local, "no request waits for the region")
        // The probe failed: another period, same outage (not logged again).
        #expect(!services.markUnreachable("vehicles@us-east1", now: start + .seconds(9)))
        #expect(services.route("vehicles@us-east1", now: start + .seconds(13)) == .local)
        #expect(services.route("vehicles@us-east1", now: start + .seconds(14)) == .localAndProbe)
        // The probe was answered: requests go home again.
        services.markReachable("vehicles@us-east1")
        #expect(services.route("vehicles@us-east1", now: start + .seconds(14)) == .home)
        #expect(services.markUnreachable("vehicles@us-east1", now: start + .seconds(15)), "a new outage is logged")
    }
}
