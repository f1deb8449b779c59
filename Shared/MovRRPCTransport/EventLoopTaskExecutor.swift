import NIOCore

/// Runs Swift tasks on one NIO event loop, so a request handler stays on the thread of its
/// connection: no hop to the cooperative pool and back for every await on a future that the
/// same loop completes (replies of pooled RPC connections on that loop, writes, timers).
///
/// Blocking work must not run here: the database layer drives libpq non-blocking on this thread
/// and waits for the server's answers off it (MovRPostgres's `SocketReadiness`); connecting,
/// which blocks, goes to a thread pool.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}

extension RPCEventLoopPreference {
    /// Runs `operation` on `loop` (the loop is its task executor) with ``current`` set to it, so
    /// an ``RPCClient`` call made inside takes a connection of that loop and its reply resumes
    /// the task on the same thread: what a server's handlers get, for clients that make many
    /// calls from their own tasks (a load generator's workers).
    /// Starts `operation` as a detached task on `loop`, with ``current`` set to it: work a
    /// handler hands off without leaving the thread. Nothing of the handler's task reaches it
    /// (its cancellation, its task-local reply headers and cost).
    public static func startDetachedTask(on loop: any EventLoop, _ operation: @escaping @Sendable () async -> Void) {
        Task.detached(executorPreference: EventLoopTaskExecutor(eventLoop: loop)) {
            await $current.withValue(loop) { await operation() }
        }
    }

    public static func run<Result: Sendable>(on loop: any EventLoop,
                                             _ operation: @Sendable () async -> Result) async -> Result {
        await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop: loop)) {
            await $current.withValue(loop) { await operation() }
        }
    }
}
