import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import MovRRPCTransport

/// One connection's calls run in one kept task (``CallRunner``): in order, on the loop, a
/// cancelled call never leaks its cancellation into the next one, and idle tasks are bounded.
@Suite struct CallRunnerTests {
    /// What the calls saw, in the order they ran.
    final class Log: Sendable {
        typealias Entry = (name: String, cancelled: Bool, onLoop: Bool, prefersLoop: Bool)
        private let state = NIOLockedValueBox<[Entry]>([])
        /// What the call running now sees: its cancellation, its thread, its preferred loop.
        func record(_ name: String, on loop: any EventLoop) {
            let entry = (name: name, cancelled: Task.isCancelled, onLoop: loop.inEventLoop,
                         prefersLoop: RPCEventLoopPreference.current === loop)
            state.withLockedValue { $0.append(entry) }
        }
        var entries: [Entry] { state.withLockedValue { $0 } }
        var names: [String] { entries.map(\.name) }
    }

    static func withRunner(parking: CallRunner.Parking = CallRunner.Parking(limit: 16),
                           _ body: (any EventLoop, CallRunner) async throws -> Void) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let runner = try await loop.submit {
            CallRunner(loop: loop, parking: parking)
        }.get()
        try await body(loop, runner)
        try await loop.submit { runner.close() }.get()
        try await group.shutdownGracefully()
    }

    /// Waits (bounded) until `condition`, read on the loop, holds.
    static func eventually(on loop: any EventLoop, _ condition: @escaping @Sendable () -> Bool) async throws -> Bool {
        let limit = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < limit {
            if try await loop.submit(condition).get() { return true }
            try await Task.sleep(for: .milliseconds(2))
        }
        return false
    }

    /// Submits `call` (which the runner's task runs) and cancels it once it has started, as the
    /// connection's deadline does.
    static func submitAndCancel(on loop: any EventLoop, _ runner: CallRunner, _ call: @escaping CallRunner.Call) async throws {
        let started = NIOLockedValueBox(false)
        try await loop.submit {
            runner.submit {
                started.withLockedValue { $0 = true }
                await call()
            }
        }.get()
        #expect(try await eventually(on: loop) { started.withLockedValue { $0 } })
        try await loop.submit { runner.cancelCall() }.get()
    }

    @Test func callsOneAfterAnotherShareOneTask() async throws {
        try await Self.withRunner { loop, runner in
            let log = Log()
            for index in 0..<50 {
                try await loop.submit { runner.submit { log.record("\(index)", on: loop) } }.get()
                #expect(try await Self.eventually(on: loop) { runner.callsRun == index + 1 && !runner.isRunningCall })
            }
            #expect(log.names == (0..<50).map { "\($0)" })
            #expect(log.entries.allSatisfy { $0.onLoop && $0.prefersLoop && !$0.cancelled })
            #expect(try await loop.submit { runner.tasksStarted }.get() == 1)
        }
    }

    /// An answer starts the next pipelined request before its task is back: that call runs
    /// next, in the same task.
    @Test func aCallHandedOverWhileOneRunsRunsNextInTheSameTask() async throws {
        try await Self.withRunner { loop, runner in
            let log = Log()
            try await loop.submit {
                runner.submit {
                    log.record("first", on: loop)
                    runner.submit { log.record("second", on: loop) }
                    log.record("first ends", on: loop)
                }
            }.get()
            #expect(try await Self.eventually(on: loop) { runner.callsRun == 2 })
            #expect(log.names == ["first", "first ends", "second"])
            #expect(try await loop.submit { runner.tasksStarted }.get() == 1)
        }
    }

    /// A call cancelled at its deadline ends its task; the next call on the connection runs in
    /// a new task and is not cancelled. Cancelling while no call runs changes nothing.
    @Test func aCancelledCallDoesNotCancelTheNextOne() async throws {
        try await Self.withRunner { loop, runner in
            let log = Log()
            try await Self.submitAndCancel(on: loop, runner) {
                try? await Task.sleep(for: .seconds(60))
                log.record("slow", on: loop)
            }
            #expect(try await Self.eventually(on: loop) { runner.callsRun == 1 })
            try await loop.submit { runner.submit { log.record("next", on: loop) } }.get()
            #expect(try await Self.eventually(on: loop) { runner.callsRun == 2 && !runner.isRunningCall })
            // Idle now: a stray cancel (a timer that fires late) must not reach the next call.
            try await loop.submit { runner.cancelCall() }.get()
            try await loop.submit { runner.submit { log.record("after idle cancel", on: loop) } }.get()
            #expect(try await Self.eventually(on: loop) { runner.callsRun == 3 })
            #expect(log.names == ["slow", "next", "after idle cancel"])
            #expect(log.entries.map(\.cancelled) == [true, false, false])
            #expect(log.entries.allSatisfy { $0.onLoop && $0.prefersLoop }, "the new task runs where the first did")
            #expect(try await loop.submit { runner.tasksStarted }.get() == 2)
        }
    }

    /// A call handed over while a cancelled one finishes gets a fresh task.
    @Test func aCallHandedOverToACancelledTaskRunsInANewOne() async throws {
        try await Self.withRunner { loop, runner in
            let log = Log()
            try await Self.submitAndCancel(on: loop, runner) {
                try? await Task.sleep(for: .seconds(60))
                log.record("cancelled", on: loop)
                runner.submit { log.record("pipelined", on: loop) }
            }
            #expect(try await Self.eventually(on: loop) { runner.callsRun == 2 })
            #expect(log.names == ["cancelled", "pipelined"])
            #expect(log.entries.map(\.cancelled) == [true, false])
            #expect(try await loop.submit { runner.tasksStarted }.get() == 2)
        }
    }

    /// Closing the connection ends a waiting task and cancels a running call; waiting tasks
    /// beyond the bound end after their call instead of waiting.
    @Test func waitingTasksAreBoundedAndEndWithTheirConnection() async throws {
        let parking = CallRunner.Parking(limit: 1)
        try await Self.withRunner(parking: parking) { loop, first in
            try await Self.withRunner(parking: parking) { otherLoop, second in
                try await loop.submit { first.submit {} }.get()
                #expect(try await Self.eventually(on: loop) { first.callsRun == 1 && parking.waiting == 1 })
                try await otherLoop.submit { second.submit {} }.get()
                #expect(try await Self.eventually(on: otherLoop) { second.callsRun == 1 })
                // The bound was reached: the second task ended instead of waiting.
                #expect(parking.waiting == 1)
                try await otherLoop.submit { second.submit {} }.get()
                #expect(try await Self.eventually(on: otherLoop) { second.callsRun == 2 })
                #expect(try await otherLoop.submit { second.tasksStarted }.get() == 2)
                try await loop.submit { first.close() }.get()
                #expect(parking.waiting == 0)
            }
        }
    }
}
