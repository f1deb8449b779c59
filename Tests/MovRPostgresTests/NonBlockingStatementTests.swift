import Foundation
@testable import MovRPostgres
import MovRTestSupport
import NIOPosix
import Synchronization
import Testing

/// The socket watcher alone, on a socket pair: it resumes a waiter when its socket has bytes,
/// several at once, and fails what is still waiting when stopped.
@Suite struct SocketReadinessTests {
    /// A connected pair of stream sockets, closed when the test ends.
    final class Pair: Sendable {
        let ours: Int32
        let theirs: Int32
        init() throws {
            var fds: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw POSIXError(.EIO) }
            (ours, theirs) = (fds[0], fds[1])
        }
        func send() { _ = write(theirs, "x", 1) }
        deinit {
            close(ours)
            close(theirs)
        }
    }

    /// Runs the watcher on a thread of its own for `body`, then stops it.
    func withWatcher(_ body: (SocketReadiness) async throws -> Void) async throws {
        let readiness = SocketReadiness()
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        thread.submit { _ in readiness.run() }
        do {
            try await body(readiness)
        } catch {
            readiness.stop()
            try await thread.shutdownGracefully()
            throw error
        }
        readiness.stop()
        try await thread.shutdownGracefully()
    }

    @Test func aWaitEndsWhenItsSocketHasBytes() async throws {
        try await withWatcher { readiness in
            let pair = try Pair()
            let started = ContinuousClock.now
            async let waited: Void = readiness.wait(for: pair.ours)
            try await Task.sleep(for: .milliseconds(200))
            pair.send()
            try await waited
            #expect(ContinuousClock.now - started >= .milliseconds(200))
            // Still readable (nobody read the byte): the next wait on the same socket ends at once.
            try await readiness.wait(for: pair.ours)
        }
    }

    @Test func aSocketNumberReusedAfterACloseIsWatchedAgain() async throws {
        try await withWatcher { readiness in
            var number: Int32 = -1
            do {
                let first = try Pair()
                number = first.ours
                first.send()
                try await readiness.wait(for: first.ours)
            }
            // The kernel dropped the closed socket's registration; the same number, now another
            // socket, is added afresh by its first wait. (Descriptors are allocated lowest
            // first, so the new pair takes the number unless a parallel test took it first.)
            let second = try Pair()
            let waiter = second.ours == number ? second.ours : second.theirs
            async let waited: Void = readiness.wait(for: waiter)
            try await Task.sleep(for: .milliseconds(50))
            _ = write(waiter == second.ours ? second.theirs : second.ours, "y", 1)
            try await waited
        }
    }

    @Test func manySocketsReadyTogetherAreAllAnswered() async throws {
        try await withWatcher { readiness in
            let pairs = try (0..<16).map { _ in try Pair() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for pair in pairs { group.addTask { try await readiness.wait(for: pair.ours) } }
                try await Task.sleep(for: .milliseconds(100))
                for pair in pairs { pair.send() }
                try await group.waitForAll()
            }
        }
    }

    @Test func aDescriptorThatCannotBeWatchedFailsItsWaitAndLeavesNoWaiterBehind() async throws {
        try await withWatcher { readiness in
            // epoll refuses regular files (EPERM): the wait fails as a lost connection, and twice
            // in a row, so the first one took its waiter out again (a second wait on a socket
            // that still has one stops the process).
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("movr-readiness-\(UUID())").path
            let file = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
            try #require(file >= 0)
            defer {
                close(file)
                unlink(path)
            }
            // A wait that wrongly hangs is ended by a stop (as `poolClosed`, which fails the test).
            let backstop = Task {
                try await Task.sleep(for: .seconds(10))
                readiness.stop()
            }
            defer { backstop.cancel() }
            for _ in 0..<2 {
                let error = await #expect(throws: PostgresError.self) { try await readiness.wait(for: file) }
                #expect(error?.code == .connectionLost)
            }
            // The watcher still serves sockets.
            let pair = try Pair()
            pair.send()
            try await readiness.wait(for: pair.ours)
        }
    }

    @Test func stoppingFailsWhatStillWaitsAndEveryLaterWait() async throws {
        let readiness = SocketReadiness()
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        thread.submit { _ in readiness.run() }
        let pair = try Pair()
        let pending = Task { try await readiness.wait(for: pair.ours) }
        try await Task.sleep(for: .milliseconds(100))
        readiness.stop()
        let error = await #expect(throws: PostgresError.self) { try await pending.value }
        #expect(error?.code == .poolClosed)
        let later = await #expect(throws: PostgresError.self) { try await readiness.wait(for: pair.ours) }
        #expect(later?.code == .poolClosed)
        try await thread.shutdownGracefully()
    }
}

/// A statement's sender polling for its answer itself (`SocketReadiness.spin(on:)`), on a socket
/// pair: when it may, how long, and how its credit stops and restarts it.
@Suite struct AnswerSpinTests {
    typealias Pair = SocketReadinessTests.Pair

    /// A readiness (no watcher) with one statement in flight, and a socket pair to poll. It does
    /// not judge whether a spin kept its processor: this test's thread may be preempted on a busy
    /// machine, and its spins' credit must not depend on that (that rule is tested alone, in
    /// `theCreditRisesWithAnswersAndFallsFastestWhenTheProcessorWasLost`).
    func oneStatement(budgetMicroseconds: Int) throws -> (SocketReadiness, Pair) {
        let readiness = SocketReadiness(spinBudgetMicroseconds: budgetMicroseconds, judgesProcessor: false)
        readiness.beginStatement()
        return (readiness, try Pair())
    }

    @Test func aSpinSeesBytesThatArriveWithinItsBudget() throws {
        let (readiness, pair) = try oneStatement(budgetMicroseconds: 5_000_000)
        let writer = Thread { usleep(5_000); pair.send() }
        writer.start()
        #expect(readiness.spin(on: pair.ours))
        #expect(readiness.spinsPolled.load(ordering: .relaxed) == 1)
    }

    @Test func aSpinGivesUpAtItsBudget() throws {
        let (readiness, pair) = try oneStatement(budgetMicroseconds: 2_000)
        let started = ContinuousClock.now
        #expect(!readiness.spin(on: pair.ours))
        #expect(ContinuousClock.now - started >= .milliseconds(2))
        #expect(readiness.spinsPolled.load(ordering: .relaxed) == 1)
    }

    @Test func noSpinWhileAnotherStatementIsInFlightOrTheGateIsClosedOrWithNoBudget() throws {
        let pair = try Pair()
        pair.send()
        let busy = SocketReadiness(spinBudgetMicroseconds: 1_000)
        busy.beginStatement()
        busy.beginStatement()
        #expect(!busy.spin(on: pair.ours))
        #expect(busy.spinsPolled.load(ordering: .relaxed) == 0)
        busy.endStatement()
        #expect(busy.spin(on: pair.ours))
        let gate = Mutex(false)
        let gated = SocketReadiness(spinBudgetMicroseconds: 1_000, spinGate: { gate.withLock { $0 } })
        gated.beginStatement()
        #expect(!gated.spin(on: pair.ours))
        #expect(gated.spinsPolled.load(ordering: .relaxed) == 0)
        gate.withLock { $0 = true }
        #expect(gated.spin(on: pair.ours))
        let off = SocketReadiness(spinBudgetMicroseconds: 0)
        off.beginStatement()
        #expect(!off.spin(on: pair.ours))
        #expect(off.spinsPolled.load(ordering: .relaxed) == 0)
    }

    @Test func spinsThatDoNotPayOffStopUntilAProbePaysOff() throws {
        let (readiness, pair) = try oneStatement(budgetMicroseconds: 200)
        // Credit starts at zero: a spin that sees nothing takes one and stops the spinning.
        #expect(!readiness.spin(on: pair.ours))
        #expect(readiness.spinsPolled.load(ordering: .relaxed) == 1)
        // Then one statement in `spinProbeInterval` probes.
        for _ in 0..<(2 * SocketReadiness.spinProbeInterval) { _ = readiness.spin(on: pair.ours) }
        #expect(readiness.spinsPolled.load(ordering: .relaxed) == 3)
        // A probe that finds its answer restarts spinning for every statement.
        pair.send()
        var calls = 0
        while readiness.spinsPolled.load(ordering: .relaxed) == 3, calls < SocketReadiness.spinProbeInterval {
            #expect(readiness.spin(on: pair.ours) == (readiness.spinsPolled.load(ordering: .relaxed) == 4))
            calls += 1
        }
        #expect(readiness.spinsPolled.load(ordering: .relaxed) == 4)
        #expect(readiness.spin(on: pair.ours))
        #expect(readiness.spin(on: pair.ours))
        #expect(readiness.spinsPolled.load(ordering: .relaxed) == 6)
    }

    @Test func theRunnableCountIsReadFromLoadavgText() {
        func runnable(_ text: String) -> Int? {
            Array(text.utf8).withUnsafeBytes { RunnableThreads.runnable(in: $0) }
        }
        #expect(runnable("0.52 0.58 0.59 3/512 12345\n") == 3)
        #expect(runnable("12.00 9.10 4.20 117/2048 99") == 117)
        #expect(runnable("0.00 0.00 0.00 /512 1") == nil)
        #expect(runnable("garbage") == nil)
        // This machine's own file reads: the test's thread at least is runnable.
        let descriptor = open("/proc/loadavg", O_RDONLY)
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = read(descriptor, &buffer, buffer.count)
        #expect(count > 0)
        #expect((buffer[..<max(0, count)].withUnsafeBytes { RunnableThreads.runnable(in: $0) } ?? 0) >= 1)
    }

    @Test func theCreditRisesWithAnswersAndFallsFastestWhenTheProcessorWasLost() {
        func after(_ credit: Int, _ outcomes: [(ready: Bool, kept: Bool)]) -> Int {
            outcomes.reduce(credit) { SocketReadiness.credit(after: $0, ready: $1.ready, keptProcessor: $1.kept) }
        }
        let max = SocketReadiness.maxSpinCredit
        // Answers raise it to its maximum and no further; a probe that pays off restarts at one.
        #expect(after(0, Array(repeating: (true, true), count: max + 3)) == max)
        #expect(after(-4, [(true, true)]) == 1)
        // A slow statement costs one: from full credit, spinning goes on.
        #expect(after(max, [(false, true)]) == max - 1)
        // A lost processor costs four, answered or not: from full credit, three in a row stop
        // the spinning (below zero only probes spin), and the floor is -4.
        #expect(after(max, [(true, false), (false, false)]) == 0)
        #expect(after(max, Array(repeating: (true, false), count: 3)) < 0)
        #expect(after(max, Array(repeating: (false, false), count: 10)) == -4)
        #expect(after(-4, [(false, true)]) == -4)
        // What the live clocks are judged by: a spin under 50 µs kept its processor whatever
        // the clocks say; a longer one if it ran for at least three quarters of its time.
        func kept(_ wall: UInt64, _ cpu: UInt64) -> Bool {
            SocketReadiness.keptProcessor(wallNanoseconds: wall, cpuNanoseconds: cpu)
        }
        #expect(kept(49_000, 0))
        #expect(kept(200_000, 150_000) && kept(200_000, 200_000))
        #expect(!kept(200_000, 149_000) && !kept(50_000, 0))
    }

    @Test func aSlowStatementAmongFastOnesDoesNotStopTheSpinning() throws {
        let (readiness, pair) = try oneStatement(budgetMicroseconds: 200)
        pair.send()
        for _ in 0..<SocketReadiness.maxSpinCredit { #expect(readiness.spin(on: pair.ours)) }
        // Drain the byte: the next spin sees nothing and gives up at its budget.
        var byte: UInt8 = 0
        #expect(read(pair.ours, &byte, 1) == 1)
        _ = readiness.spin(on: pair.ours)
        // That cost one credit: credit is left, the next statement spins.
        pair.send()
        #expect(readiness.spin(on: pair.ours))
        #expect(readiness.spinsPolled.load(ordering: .relaxed) == SocketReadiness.maxSpinCredit + 2)
    }
}

/// Statements run in libpq's non-blocking mode and wait for the server without holding a thread.
@Suite struct NonBlockingStatementTests {
    @Test func aStatementInFlightHoldsNoThread() async throws {
        let applicationName = TestPostgres.uniqueName(prefix: "nothread")
        let key = Int.random(in: 1..<Int(Int32.max))
        try await TestPostgres.withClient(poolSize: 4, applicationName: applicationName) { client in
            // Open all four connections first: opening does block a pool thread. Each task holds
            // its connection until four are open, so none is handed on to another in line.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await client.withConnection { connection in
                            _ = try await connection.query("SELECT 1")
                            let deadline = ContinuousClock.now + .seconds(30)
                            while await client.poolStatistics.connectionsOpened < 4, ContinuousClock.now < deadline {
                                try await Task.sleep(for: .milliseconds(10))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(await client.poolStatistics.openConnections == 4)
            // Another client on the same database (advisory locks are per database) holds an
            // advisory lock; four statements of the client under test wait for it on the server
            // until the test lets them go, however slow the machine.
            var holderConfiguration = client.configuration
            holderConfiguration.poolSize = 1
            holderConfiguration.applicationName = applicationName + "_holder"
            let observer = PostgresClient(configuration: holderConfiguration, logger: TestPostgres.logger)
            do {
                try await observer.withConnection { holder in
                    _ = try await holder.query("SELECT pg_advisory_lock(CAST(\(key) AS bigint))")
                    do {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for _ in 0..<4 {
                                group.addTask {
                                    _ = try await client.query("SELECT pg_advisory_xact_lock_shared(CAST(\(key) AS bigint))")
                                }
                            }
                            // Until the server shows all four waiting for the lock.
                            var waiting = 0
                            let deadline = ContinuousClock.now + .seconds(60)
                            while waiting < 4, ContinuousClock.now < deadline {
                                try await Task.sleep(for: .milliseconds(20))
                                waiting = try await holder.query("""
                                    SELECT count(*) AS n FROM pg_stat_activity
                                    WHERE application_name = \(applicationName) AND wait_event_type = 'Lock'
                                    """).first!.decode("n", as: Int.self)
                            }
                            #expect(waiting == 4)
                            // All four connections are busy on the server. The client's threads
                            // (one per connection for opening and closing, one watcher) are free:
                            // a work item runs while the statements still wait. Blocking libpq
                            // calls would hold all four threads until the lock is released, which
                            // happens only after this check (bounded so a regression fails
                            // instead of hanging).
                            let ran = Flag()
                            client.threadPool.submit { state in if state == .active { ran.set() } }
                            let checkDeadline = ContinuousClock.now + .seconds(30)
                            while !ran.isSet, ContinuousClock.now < checkDeadline {
                                try await Task.sleep(for: .milliseconds(10))
                            }
                            let ranWhileWaiting = ran.isSet
                            #expect(ranWhileWaiting)
                            _ = try await holder.query("SELECT pg_advisory_unlock(CAST(\(key) AS bigint))")
                            try await group.waitForAll()
                        }
                    } catch {
                        _ = try? await holder.query("SELECT pg_advisory_unlock(CAST(\(key) AS bigint))")
                        throw error
                    }
                }
            } catch {
                await observer.shutdown()
                throw error
            }
            await observer.shutdown()
        }
    }

    /// A flag set from a thread-pool work item and read by the test.
    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    @Test func statementsOneAtATimePollForTheirAnswersAndSlowOnesStillEnd() async throws {
        // A generous budget: the statement's answer comes within it on any machine.
        try await TestPostgres.withClient(poolSize: 1, answerSpinMicroseconds: 10_000) { client in
            for value in 0..<50 {
                let rows = try await client.query("SELECT \(value)::int AS n")
                #expect(try rows.first?.decode("n", as: Int.self) == value)
            }
            #expect(client.readiness.spinsPolled.load(ordering: .relaxed) > 0)
            // Longer than the budget: the spin gives up, the watcher waits for the rest.
            let slow = try await client.query("SELECT pg_sleep(0.05)::text AS slept, 7 AS n")
            #expect(try slow.first?.decode("n", as: Int.self) == 7)
        }
        try await TestPostgres.withClient(poolSize: 1, answerSpinMicroseconds: 0) { client in
            let rows = try await client.query("SELECT 1 AS n")
            #expect(try rows.first?.decode("n", as: Int.self) == 1)
            #expect(client.readiness.spinsPolled.load(ordering: .relaxed) == 0)
        }
    }

    @Test func aStatementLargerThanTheSocketBufferIsSentWhole() async throws {
        // 16 MiB does not fit a loopback socket's send buffer: libpq's flush returns "more to
        // send" and the statement waits for the socket to take the rest.
        let text = String(repeating: "movr", count: 4 << 20)
        try await TestPostgres.withClient(poolSize: 1) { client in
            let rows = try await client.query("SELECT length(\(text)::text) AS n, md5(\(text)::text) AS digest")
            #expect(try rows.first?.decode("n", as: Int.self) == text.utf8.count)
            let expected = try await client.query("SELECT md5(repeat('movr', CAST(\(4 << 20) AS int))) AS digest")
            #expect(rows.first?["digest"] == expected.first?["digest"])
        }
    }

    @Test func aFailingStatementInAScriptIsReportedAndTheConnectionStaysUsable() async throws {
        try await TestPostgres.withClient(poolSize: 1) { client in
            try await client.withConnection { connection in
                let error = await #expect(throws: PostgresError.self) {
                    try await connection.execute("SELECT 1; SELECT 1/0; SELECT 2")
                }
                #expect(error?.code == .server)
                #expect(error?.sqlState == "22012")
                let rows = try await connection.query("SELECT 3 AS three")
                #expect(rows.first?["three"] == "3")
            }
            #expect(await client.poolStatistics.connectionsDiscarded == 0)
        }
    }

    @Test func aBackendTerminatedMidStatementFailsItAsLostAndIsReplaced() async throws {
        try await TestPostgres.withClient(poolSize: 2) { client in
            let victim = try await client.withConnection { connection in
                try await connection.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self)
            }
            // The statement's task says when it holds the victim; nothing else takes a pooled
            // connection before then (a fixed pause let the terminating query take the idle
            // victim itself when the task started late).
            let (holding, holds) = AsyncStream<Int>.makeStream()
            async let outcome: Result<Void, any Error> = {
                defer { holds.finish() }
                do {
                    try await client.withConnection { connection in
                        holds.yield(try await connection.query("SELECT pg_backend_pid() AS pid").first!.decode("pid", as: Int.self))
                        _ = try await connection.query("SELECT pg_sleep(30)")
                    }
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }()
            var held = holding.makeAsyncIterator()
            try #require(await held.next() == victim)
            // Terminated while the statement runs on the server, not before it is sent.
            let deadline = ContinuousClock.now + .seconds(30)
            while try await client.query("""
                SELECT count(*) AS n FROM pg_stat_activity WHERE pid = CAST(\(victim) AS int) AND wait_event = 'PgSleep'
                """).first?["n"] != "1" {
                try #require(ContinuousClock.now < deadline, "the victim's statement never started")
                try await Task.sleep(for: .milliseconds(20))
            }
            let terminated = ContinuousClock.now
            _ = try await client.query("SELECT pg_terminate_backend(CAST(\(victim) AS int))")
            let error = try #require(await outcome.failure as? PostgresError)
            #expect(error.code == .connectionLost)
            // Not at the end of the sleep (seconds later).
            #expect(ContinuousClock.now - terminated < .seconds(10))
            #expect(await client.poolStatistics.connectionsDiscarded == 1)
            #expect(await client.ping())
        }
    }

    @Test func shutdownDoesNotWaitForAStatementInFlight() async throws {
        let client = try await TestPostgres.makeClient(poolSize: 1)
        #expect(await client.ping())
        async let outcome: Result<Void, any Error> = {
            do {
                _ = try await client.query("SELECT pg_sleep(60)")
                return .success(())
            } catch {
                return .failure(error)
            }
        }()
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        await client.shutdown()
        let error = try #require(await outcome.failure as? PostgresError)
        #expect(error.code == .poolClosed)
        // A blocking call would have held shutdown until the minute was over (the bound leaves a
        // loaded machine room; shutdown takes well under a second here).
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
