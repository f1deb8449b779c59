import Logging
import MovRService
import NIOConcurrencyHelpers
import ServiceLifecycle
import Testing

/// The order `ServiceMain` relies on: a group stops its services in reverse, each after the one
/// behind it has returned, so a background service's final pass still finds the resources that
/// were listed before it running.
@Suite struct ServiceGroupOrderTests {
    final class Journal: Sendable {
        private let entries = NIOLockedValueBox<[String]>([])
        func add(_ entry: String) { entries.withLockedValue { $0.append(entry) } }
        var all: [String] { entries.withLockedValue { $0 } }
    }

    /// Stands for a database client: usable until the group shuts it down.
    struct Resource: Service {
        let journal: Journal
        let isOpen = NIOLockedValueBox(true)
        func run() async throws {
            try? await gracefulShutdown()
            isOpen.withLockedValue { $0 = false }
            journal.add("resource closed")
        }
    }

    @Test func aFinalPassRunsBeforeTheResourcesListedEarlierStop() async throws {
        let journal = Journal()
        let resource = Resource(journal: journal)
        let passes = NIOLockedValueBox(0)
        let relay = PeriodicService(name: "relay", interval: .seconds(3600), finalPass: true,
                                    logger: Logger(label: "test")) {
            let open = resource.isOpen.withLockedValue { $0 }
            passes.withLockedValue { $0 += 1 }
            journal.add(open ? "pass with resource open" : "pass with resource closed")
        }
        let group = ServiceGroup(services: [resource, relay], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        while passes.withLockedValue({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(journal.all == ["pass with resource open", "pass with resource open", "resource closed"])
    }

    @Test func withoutAFinalPassTheLoopJustEnds() async throws {
        let passes = NIOLockedValueBox(0)
        let loop = PeriodicService(name: "loop", interval: .seconds(3600), logger: Logger(label: "test")) {
            passes.withLockedValue { $0 += 1 }
        }
        let group = ServiceGroup(services: [loop], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        while passes.withLockedValue({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(passes.withLockedValue { $0 } == 1)
    }
}
