import CLibPQ
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import Synchronization

/// Tells waiting tasks when a database socket can be read (or written), from one epoll
/// descriptor watched by one thread.
///
/// libpq runs in non-blocking mode: the task that holds a connection sends its statement and
/// reads the answer itself, on whatever thread it runs (a request's event loop); only the wait
/// for the server's bytes is handed here (after one `Task.yield`, which under load often finds
/// the answer already in). A wait costs one wake of this thread and
/// one of the task's executor, where a blocking call on a thread pool cost three thread
/// switches (the hand-off, the blocked `poll`, the way back); under load one `epoll_wait` can
/// report several connections at once.
///
/// Sole owner of its epoll and event descriptors (closed in `deinit`). Registrations are one-shot:
/// a socket reported ready is disarmed until its holder's next wait re-arms it (one `epoll_ctl`
/// per wait; the kernel drops the registration when libpq closes the socket, and a wait that
/// finds none adds one).
///
/// A wait can also be spun (``spin(on:)``): the caller polls its socket itself for a short
/// while before it waits here, when the client has no other statement in flight, recent spins
/// paid off and the client's gate allows it. At one request at a time the two wakes of a wait
/// (this thread, then the task's executor) are most of a statement's time on an idle virtual
/// machine: together 0.25–0.3 ms by hand, against a statement of 0.05–0.1 ms.
final class SocketReadiness: Sendable {
    private let epoll: Int32
    /// Written once by ``stop()`` to end ``run()``.
    private let stopEvent: Int32
    private let state = NIOLockedValueBox(State())
    /// The longest a spin polls (0: never spin).
    let spinBudgetNanoseconds: UInt64
    /// Whether the process and machine are idle enough to spin, asked before each spin
    /// (`PostgresConfiguration.answerSpinGate`).
    private let spinGate: (@Sendable () -> Bool)?
    /// Statements of this client sent and not yet answered (``beginStatement()``).
    private let inFlight = Atomic<Int>(0)
    /// How recent spins went: up by one for a spin that paid off (to at most
    /// ``maxSpinCredit``; from below zero, a probe that paid off, to one); down by four for one
    /// that lost its processor (the machine is busy: from full credit three in a row stop the
    /// spinning), by one for one that kept it but saw no answer within the budget (a slow
    /// statement, e.g. a background scan, among fast ones), to at least -4. Below zero only the
    /// probes spin.
    private let spinCredit = Atomic<Int>(0)
    private let spinProbes = Atomic<Int>(0)
    /// Spins that polled (for tests): a spin refused at once does not count.
    let spinsPolled = Atomic<Int>(0)
    static let maxSpinCredit = 8
    /// Out of credit, one statement in this many spins, to find out whether spinning pays again.
    static let spinProbeInterval = 32
    /// A spin this short pays off when its answer came, whatever the clocks say of its share.
    static let shortSpinNanoseconds: UInt64 = 50_000

    private struct State {
        var waiting: [Int32: CheckedContinuation<Void, any Error>] = [:]
        var stopped = false
    }

    /// Whether a spin's wall and CPU clocks are read to tell a spin that lost its processor
    /// (`false` in tests on socket pairs: a test thread preempted on a busy machine must not
    /// change what its spins are checked for; ``keptProcessor(wallNanoseconds:cpuNanoseconds:)``
    /// and ``credit(after:ready:keptProcessor:)`` are tested alone).
    private let judgesProcessor: Bool

    init(spinBudgetMicroseconds: Int = 0, spinGate: (@Sendable () -> Bool)? = nil, judgesProcessor: Bool = true) {
        spinBudgetNanoseconds = UInt64(max(0, spinBudgetMicroseconds)) * 1000
        self.spinGate = spinGate
        self.judgesProcessor = judgesProcessor
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        stopEvent = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        precondition(epoll >= 0 && stopEvent >= 0, "epoll_create1/eventfd failed: errno \(errno)")
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = stopEvent
        precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, stopEvent, &event) == 0, "epoll_ctl failed: errno \(errno)")
    }

    deinit {
        close(epoll)
        close(stopEvent)
    }

    /// Returns when `socket` is readable (or, with `orWritable`, writable), or has failed or
    /// hung up (the caller's next libpq call then reports it). Throws `poolClosed` once stopped.
    func wait(for socket: Int32, orWritable: Bool = false) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let refusal: PostgresError? = state.withLockedValue { state in
                if state.stopped { return PostgresError(code: .poolClosed) }
                precondition(state.waiting[socket] == nil, "two waits on one database socket")
                var event = epoll_event()
                event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLONESHOT.rawValue
                    | (orWritable ? EPOLLOUT.rawValue : 0)
                event.data.fd = socket
                // Re-arm the socket's registration, or add one (first wait, or a new socket).
                let armed = epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event) == 0
                    || (errno == ENOENT && epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) == 0)
                guard armed else {
                    return PostgresError(code: .connectionLost, serverMessage: "cannot watch the database socket (errno \(errno))")
                }
                state.waiting[socket] = continuation
                return nil
            }
            if let refusal { continuation.resume(throwing: refusal) }
        }
    }

    /// A statement of this client was sent; ``endStatement()`` when its exchange is over.
    func beginStatement() {
        inFlight.add(1, ordering: .relaxed)
    }

    func endStatement() {
        inFlight.subtract(1, ordering: .relaxed)
    }

    /// Polls `socket` on the calling thread until it is readable (or has failed), for at most
    /// the spin budget, and returns whether it is; `false` at once unless the caller's statement
    /// is the client's only one in flight, recent spins paid off (or this is a probe) and the
    /// gate is open, asked once before the spin (services: one request at a time in the
    /// process and a processor to spare on the machine, ``RunnableThreads``; under load the
    /// spin's processor is needed by other work, the database server's included). A spin pays
    /// off when the answer came within the budget and the thread kept its processor for at
    /// least three quarters of the spin: a spin that lost it competed with the very work it
    /// waited for (the machine is busy), and costs the credit most.
    func spin(on socket: Int32) -> Bool {
        guard spinBudgetNanoseconds > 0, inFlight.load(ordering: .relaxed) == 1 else { return false }
        let credit = spinCredit.load(ordering: .relaxed)
        if credit < 0 {
            let probe = spinProbes.wrappingAdd(1, ordering: .relaxed).newValue
            guard probe % Self.spinProbeInterval == 0 else { return false }
        }
        // Last: the gate may make a system call.
        guard spinGate?() ?? true else { return false }
        spinsPolled.add(1, ordering: .relaxed)
        let startWall = Self.nanoseconds(CLOCK_MONOTONIC)
        let startCPU = Self.nanoseconds(CLOCK_THREAD_CPUTIME_ID)
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        var ready = false
        while true {
            let polled = poll(&descriptor, 1, 0)
            if polled > 0 {
                ready = true
                break
            }
            if polled < 0, errno != EINTR { break }
            // Another statement of this client started (the service got busy): wait as usual.
            if Self.nanoseconds(CLOCK_MONOTONIC) &- startWall >= spinBudgetNanoseconds
                || inFlight.load(ordering: .relaxed) > 1 { break }
        }
        let wall = Self.nanoseconds(CLOCK_MONOTONIC) &- startWall
        let cpu = Self.nanoseconds(CLOCK_THREAD_CPUTIME_ID) &- startCPU
        let keptProcessor = !judgesProcessor || Self.keptProcessor(wallNanoseconds: wall, cpuNanoseconds: cpu)
        // Races between statements of this client may lose an update: the credit is a hint.
        spinCredit.store(Self.credit(after: credit, ready: ready, keptProcessor: keptProcessor), ordering: .relaxed)
        return ready
    }

    /// Whether a spin that took `wallNanoseconds` and used `cpuNanoseconds` of its thread's
    /// processor time kept its processor: a short spin always does; a longer one when it ran for
    /// at least three quarters of its time.
    static func keptProcessor(wallNanoseconds: UInt64, cpuNanoseconds: UInt64) -> Bool {
        wallNanoseconds < shortSpinNanoseconds || cpuNanoseconds &* 4 >= wallNanoseconds &* 3
    }

    /// The credit after a spin that started with `credit` (see ``spinCredit``).
    static func credit(after credit: Int, ready: Bool, keptProcessor: Bool) -> Int {
        switch (ready, keptProcessor) {
        case (true, true): min(maxSpinCredit, max(0, credit) + 1)
        case (false, true): max(-4, credit - 1)  // a statement slower than the budget
        case (_, false): max(-4, credit - 4)  // the machine is busy
        }
    }

    private static func nanoseconds(_ clock: clockid_t) -> UInt64 {
        var time = timespec()
        clock_gettime(clock, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Watches until ``stop()``; then fails the waits still pending. Runs on a thread of its own
    /// (the client's thread pool gives it one for the client's lifetime).
    func run() {
        let capacity: Int32 = 64
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer { events.deallocate() }
        var ready: [CheckedContinuation<Void, any Error>] = []
        ready.reserveCapacity(Int(capacity))
        while true {
            let count = epoll_wait(epoll, events, capacity, -1)
            if count < 0 {
                guard errno == EINTR else { break }
                continue
            }
            var stopping = false
            state.withLockedValue { state in
                for index in 0..<Int(count) {
                    let socket = events[index].data.fd
                    if socket == stopEvent {
                        stopping = true
                        continue
                    }
                    // One-shot: disarmed until the waiter's next wait re-arms it.
                    if let continuation = state.waiting.removeValue(forKey: socket) { ready.append(continuation) }
                }
            }
            for continuation in ready { continuation.resume() }
            ready.removeAll(keepingCapacity: true)
            if stopping { break }
        }
        let abandoned = state.withLockedValue { state in
            state.stopped = true
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for continuation in abandoned { continuation.resume(throwing: PostgresError(code: .poolClosed)) }
    }

    /// Ends ``run()``; later waits fail with `poolClosed`.
    func stop() {
        _ = eventfd_write(stopEvent, 1)
    }
}
