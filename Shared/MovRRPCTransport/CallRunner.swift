import NIOCore
import Synchronization

/// Runs one connection's JSON-RPC calls one after another in a single task that is kept between
/// calls, on the connection's event loop (the task's executor).
///
/// A task made for each call cost its creation and destruction and, more, its allocator's
/// memory: the frames of a call's async functions (some 14 KB down the gateway's forwarding path,
/// several above 1 KB each) outgrow the task allocator's 1 KB slabs, so every call allocated and
/// freed about a dozen slabs with `malloc`. A kept task reuses its slabs (docs/benchmarks.md,
/// "one task per connection").
///
/// Confined to the connection's event loop: every member is used there only (checked in debug
/// builds). At most 512 tasks per process wait for a next call (``Parking``); past that a task
/// ends after its call, so idle keep-alive connections hold no task memory beyond that bound.
final class CallRunner: @unchecked Sendable {
    typealias Call = @Sendable () async -> Void

    /// Counts the kept tasks waiting for a call, against a bound (the process's: ``Parking/process``).
    final class Parking: Sendable {
        /// 512 waiting tasks at most in the whole process (each keeps its slabs: some 14 KB on
        /// the gateway's forwarding path).
        static let process = Parking(limit: 512)
        let limit: Int
        private let count = Atomic<Int>(0)
        init(limit: Int) { self.limit = limit }
        /// Tasks waiting now.
        var waiting: Int { count.load(ordering: .relaxed) }
        /// Counts one more waiting task, if the bound allows it.
        func enter() -> Bool {
            guard count.add(1, ordering: .relaxed).newValue <= limit else {
                count.subtract(1, ordering: .relaxed)
                return false
            }
            return true
        }
        func leave() { count.subtract(1, ordering: .relaxed) }
    }

    private let loop: any EventLoop
    private let executor: EventLoopTaskExecutor
    private let parking: Parking
    /// The runner's task; nil before the first call and after the task ended.
    private var task: Task<Void, Never>?
    /// The task waiting for its next call.
    private var waiting: UnsafeContinuation<Call?, Never>?
    /// A call handed over while the task was still running the one before (its answer starts
    /// the next pipelined request before the task is back).
    private var pending: Call?
    /// Whether the task is running a call (cancelling it then cancels that call).
    private(set) var isRunningCall = false
    /// Calls run so far, and tasks started (for tests: a kept task runs many calls).
    private(set) var callsRun = 0
    private(set) var tasksStarted = 0

    init(loop: any EventLoop, parking: Parking = .process) {
        self.loop = loop
        self.executor = EventLoopTaskExecutor(eventLoop: loop)
        self.parking = parking
    }

    /// Runs `call` after the one in flight, if any, in the kept task (started if there is none).
    func submit(_ call: @escaping Call) {
        loop.assertInEventLoop()
        if let waiting {
            self.waiting = nil
            parking.leave()
            isRunningCall = true
            waiting.resume(returning: call)
        } else if task != nil {
            precondition(pending == nil, "a connection's calls run one at a time")
            pending = call
        } else {
            start(with: call)
        }
    }

    /// Cancels the call in flight (its handler answers 504 or stops); the task ends after it,
    /// as a cancelled task stays cancelled. A task waiting for a call is left as it is.
    func cancelCall() {
        loop.assertInEventLoop()
        if isRunningCall { task?.cancel() }
    }

    /// The connection is gone: cancels the call in flight, drops one not started, and ends the
    /// task (at once when it waits for a call).
    func close() {
        loop.assertInEventLoop()
        pending = nil
        task?.cancel()
        if let waiting {
            self.waiting = nil
            parking.leave()
            waiting.resume(returning: nil)
        }
    }

    private func start(with call: @escaping Call) {
        isRunningCall = true
        tasksStarted += 1
        task = Task(executorPreference: executor) { [loop] in
            // For the task's life, not per call: RPC calls made by its calls take connections of
            // this loop, whose replies resume the task on the same thread.
            await RPCEventLoopPreference.$current.withValue(loop) { await self.run(first: call) }
        }
    }

    /// The task's body: calls until cancelled, closed, or not kept.
    private func run(first: @escaping Call) async {
        var next: Call? = first
        while let call = next {
            await call()
            loop.assertInEventLoop()
            callsRun += 1
            isRunningCall = false
            if Task.isCancelled { break }
            if let pending {
                self.pending = nil
                isRunningCall = true
                next = pending
                continue
            }
            guard parking.enter() else { break }
            next = await withUnsafeContinuation { self.waiting = $0 }
        }
        loop.assertInEventLoop()
        task = nil
        // A call handed over while this task ended (after a cancelled one) gets a new task.
        if let pending {
            self.pending = nil
            start(with: pending)
        }
    }
}
