import FoundationEssentials
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import NIOConcurrencyHelpers

/// The gateway's session checks, coalesced under load.
///
/// Every signed-in call needs its bearer token checked by the users service before it goes on.
/// While fewer than ``limit`` checks are in flight, a call checks its own token
/// (`auth.session`, in its own task: at low load nothing changes). Past that, tokens queue, and
/// each time a check in flight comes back the queue goes to the users service as one
/// `auth.sessions` call of up to ``SessionTokensParams/maxTokens`` tokens: one exchange and
/// one statement for many calls. The same token queued twice is sent once.
///
/// A queued call stops waiting when its task is cancelled (its client left, its deadline
/// passed); the batch it was in goes on for the others. The batch runs in a detached task (no
/// request's task-local values: its reply headers, cost or cancellation), on the event loop of
/// the call that finished the check before it, with the latest deadline of the calls it
/// carries.
final class SessionChecks: Sendable {
    /// Sends one batch of distinct tokens; the answer has one check per token, in order.
    typealias Send = @Sendable (_ tokens: [String], _ options: RPCCallOptions) async throws -> [SessionCheck]

    /// Checks in flight at once before tokens queue (a batch counts as one).
    let limit: Int
    private let send: Send
    private let state = NIOLockedValueBox(State())

    private struct State {
        var inFlight = 0
        var queue: [Waiter] = []
    }

    init(limit: Int, send: @escaping Send) {
        precondition(limit >= 1, "at least one session check must be allowed in flight")
        self.limit = limit
        self.send = send
    }

    enum Admission {
        /// Check the token now, alone; call ``finished()`` once the answer is in.
        case alone
        /// The token is queued; ``Waiter/value()`` is its answer.
        case queued(Waiter)
    }

    /// Lets a check go now, or queues its token. A call that may not queue (one that asked for
    /// its `MovR-Cost`, which counts its own calls) goes now even past the limit.
    func admit(_ token: String, deadline: ContinuousClock.Instant?, mayQueue: Bool = true) -> Admission {
        state.withLockedValue { state in
            if state.inFlight < limit || !mayQueue {
                state.inFlight += 1
                return .alone
            }
            let waiter = Waiter(token: token, deadline: deadline)
            state.queue.append(waiter)
            return .queued(waiter)
        }
    }

    /// A check let go alone has its answer: the queue, if any, leaves as the next batch.
    func finished() {
        guard let batch = nextBatchOrRelease() else { return }
        let run: @Sendable () async -> Void = { [self] in await self.run(batch) }
        if let loop = RPCEventLoopPreference.current {
            RPCEventLoopPreference.startDetachedTask(on: loop, run)
        } else {
            Task.detached { await run() }
        }
    }

    /// Calls waiting now (tests watch it).
    var queued: Int { state.withLockedValue { $0.queue.count } }

    /// Checks in flight now (tests watch it).
    var inFlight: Int { state.withLockedValue { $0.inFlight } }

    /// Takes up to ``SessionTokensParams/maxTokens`` distinct tokens' waiters off the queue
    /// (calls that stopped waiting are dropped), or gives back the caller's slot when none wait.
    private func nextBatchOrRelease() -> [Waiter]? {
        state.withLockedValue { state in
            var batch: [Waiter] = []
            var tokens = Set<String>()
            var taken = 0
            for waiter in state.queue {
                guard waiter.isWaiting else { taken += 1; continue }
                if !tokens.contains(waiter.token) {
                    guard tokens.count < SessionTokensParams.maxTokens else { break }
                    tokens.insert(waiter.token)
                }
                batch.append(waiter)
                taken += 1
            }
            state.queue.removeFirst(taken)
            if batch.isEmpty {
                state.inFlight -= 1
                return nil
            }
            return batch
        }
    }

    /// Sends batches until the queue is empty, then gives back the slot.
    private func run(_ first: [Waiter]) async {
        var batch = first
        while true {
            var tokens: [String] = []
            var index: [String: Int] = [:]
            var deadline: ContinuousClock.Instant? = .now
            for waiter in batch {
                if index[waiter.token] == nil {
                    index[waiter.token] = tokens.count
                    tokens.append(waiter.token)
                }
                // The latest deadline of the calls carried; none if one of them has none.
                if let current = deadline { deadline = waiter.deadline.map { max($0, current) } }
            }
            do {
                let checks = try await send(tokens, RPCCallOptions(deadline: deadline, idempotent: true))
                guard checks.count == tokens.count else { throw RPCError.internalError }
                for waiter in batch {
                    switch checks[index[waiter.token]!] {
                    case .valid(let session): waiter.complete(.success(session))
                    case .refused(let reason): waiter.complete(.failure(RPCError.unauthenticated(reason: reason)))
                    }
                }
            } catch {
                for waiter in batch { waiter.complete(.failure(error)) }
            }
            guard let next = nextBatchOrRelease() else { return }
            batch = next
        }
    }

    /// One queued call's wait for its token's answer. The answer and the wait may come in
    /// either order; the first of the answer and the call's cancellation is its outcome.
    final class Waiter: Sendable {
        let token: String
        let deadline: ContinuousClock.Instant?
        private let slot = NIOLockedValueBox(Slot.pending)

        private enum Slot {
            case pending
            case waiting(CheckedContinuation<SessionResult, any Error>)
            case done(Result<SessionResult, any Error>)
        }

        init(token: String, deadline: ContinuousClock.Instant?) {
            self.token = token
            self.deadline = deadline
        }

        /// False once answered or cancelled.
        var isWaiting: Bool {
            slot.withLockedValue { if case .done = $0 { false } else { true } }
        }

        /// The answer: the session, or the error `auth.session` would have given.
        func value() async throws -> SessionResult {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let ready: Result<SessionResult, any Error>? = slot.withLockedValue { slot in
                        switch slot {
                        case .pending:
                            slot = .waiting(continuation)
                            return nil
                        case .done(let result):
                            return result
                        case .waiting:
                            preconditionFailure("a session check is awaited once")
                        }
                    }
                    if let ready { continuation.resume(with: ready) }
                }
            } onCancel: {
                complete(.failure(CancellationError()))
            }
        }

        func complete(_ result: Result<SessionResult, any Error>) {
            let waiting: CheckedContinuation<SessionResult, any Error>? = slot.withLockedValue { slot in
                switch slot {
                case .pending:
                    slot = .done(result)
                    return nil
                case .waiting(let continuation):
                    slot = .done(result)
                    return continuation
                case .done:
                    return nil
                }
            }
            waiting?.resume(with: result)
        }
    }
}
