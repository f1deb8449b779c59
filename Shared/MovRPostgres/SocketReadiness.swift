import CLibPQ
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers

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
final class SocketReadiness: Sendable {
    private let epoll: Int32
    /// Written once by ``stop()`` to end ``run()``.
    private let stopEvent: Int32
    private let state = NIOLockedValueBox(State())

    private struct State {
        var waiting: [Int32: CheckedContinuation<Void, any Error>] = [:]
        var stopped = false
    }

    init() {
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
