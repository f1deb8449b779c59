import NIOConcurrencyHelpers

/// A waiter's claim on its place in a pool's line (``ConnectionPoolState``), shared by the code
/// that queues it and the code that may take it out first: its timeout or its task's
/// cancellation, which can run before the waiter is queued at all.
///
/// A driver queues the waiter inside its continuation and then calls ``queued(_:)``; a timeout
/// or cancellation handler calls ``abandon(_:)``. Whichever runs second learns the waiter's id
/// (to take it out of the line and fail it) or the failure to give it instead.
public final class PoolWaitTicket<Failure: Error & Sendable>: Sendable {
    private enum State {
        case pending
        case queued(id: Int)
        case abandoned(Failure)
    }

    private let state = NIOLockedValueBox(State.pending)

    public init() {}

    /// Records that the waiter is queued under `id`; returns the failure to give it instead
    /// when it was abandoned first (the driver then takes it out of the line itself).
    public func queued(_ id: Int) -> Failure? {
        state.withLockedValue { state in
            if case .abandoned(let failure) = state { return failure }
            state = .queued(id: id)
            return nil
        }
    }

    /// Abandons the wait with `failure`; returns the id to take out of the line when the waiter
    /// is queued, nil when it is not yet (``queued(_:)`` then reports the failure) or was
    /// abandoned already.
    public func abandon(_ failure: Failure) -> Int? {
        state.withLockedValue { state in
            switch state {
            case .queued(let id):
                state = .abandoned(failure)
                return id
            case .pending:
                state = .abandoned(failure)
                return nil
            case .abandoned:
                return nil
            }
        }
    }
}
