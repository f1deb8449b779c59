import CLibPQ
import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// Sole owner of a connection's `PGcancel*` (libpq's copy of what a cancel request needs: the
/// server's address and the backend's key): `PQfreeCancel` happens exactly once, in `deinit`.
///
/// `@unchecked Sendable`: libpq documents `PQcancel` on a `PGcancel` as safe to call from any
/// thread while the connection is in use by another; nothing else touches it after creation.
final class LibPQCancelHandle: @unchecked Sendable {
    private let pointer: OpaquePointer

    /// The cancel handle of `connection`, or nil when libpq cannot make one (no memory, or the
    /// connection is not open).
    init?(connection: OpaquePointer) {
        guard let pointer = PQgetCancel(connection) else { return nil }
        self.pointer = pointer
    }

    deinit {
        PQfreeCancel(pointer)
    }

    /// Asks the server to cancel what the connection's backend is running. Blocks for one
    /// short connection to the server; the statement itself then fails (SQLSTATE 57014), or
    /// ends normally if it was done first. libpq's error text, if the request could not be sent.
    func cancel() -> String? {
        var message = [CChar](repeating: 0, count: 256)
        let sent = PQcancel(pointer, &message, Int32(message.count))
        return sent == 1 ? nil : String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Cancels a connection's statement at the server when the task waiting for its answer is
/// cancelled (its caller went away or its deadline passed), so the wait ends at once
/// instead of when the statement would have ended (behind a row lock held elsewhere: whenever
/// that lock is released).
///
/// The request (`PQcancel`, which blocks) runs on the client's thread pool, started from the
/// task's cancellation handler. The statement's exchange then reads the server's answer as
/// usual, and before the connection serves anything else, waits for the request to be done
/// (``settle()``): a request still on its way could otherwise cancel the next statement. One
/// per connection; the connection is used by one task at a time, so at most one request is
/// pending.
final class StatementCanceller: Sendable {
    private let handle: LibPQCancelHandle
    private let threadPool: NIOThreadPool
    private let logger: Logger
    private let pending = NIOLockedValueBox<Task<Void, Never>?>(nil)

    init(handle: LibPQCancelHandle, threadPool: NIOThreadPool, logger: Logger) {
        self.handle = handle
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Starts a cancel request, unless one is already under way. Called from any thread (a task
    /// cancellation handler); does not block.
    func request() {
        pending.withLockedValue { pending in
            guard pending == nil else { return }
            let handle = self.handle
            let threadPool = self.threadPool
            let logger = self.logger
            pending = Task {
                do {
                    if let failure = try await threadPool.runIfActive({ handle.cancel() }) {
                        logger.warning("cancel request for a statement not sent; it runs to its end",
                                       metadata: ["error": "\(failure)"])
                    } else {
                        logger.debug("statement cancelled at the server: its task was cancelled")
                    }
                } catch {
                    // The pool is shut down: the client is closing, and the connection with it.
                }
            }
        }
    }

    /// Waits until the request started for the statement that just ended, if any, is done.
    /// Returns whether there was one.
    @discardableResult
    func settle() async -> Bool {
        guard let request = pending.withLockedValue({ pending in defer { pending = nil }; return pending }) else {
            return false
        }
        await request.value
        return true
    }
}
