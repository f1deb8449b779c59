import MovRService
import NIOConcurrencyHelpers

/// The WAL position of each signed-in caller's last write through this gateway (token-bound
/// read-your-writes, docs/architecture.md §8). Reads the caller makes later carry it to the
/// service as `X-MovR-Min-LSN`, so a standby that has not replayed it yet is not used.
///
/// Keys are hashes of bearer tokens (no token is stored). The table is bounded: when it is
/// full it is emptied and its highest position becomes the floor every caller is fenced at,
/// so forgetting an entry can only send reads to the primary, never serve one stale.
final class WriteFences: Sendable {
    private struct State {
        var positions: [Int: WALPosition] = [:]
        var floor: WALPosition?
    }
    private let state = NIOLockedValueBox(State())
    let capacity: Int

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    func record(_ position: WALPosition, token: String) {
        let key = token.hashValue
        state.withLockedValue { state in
            if state.positions.count >= capacity, state.positions[key] == nil {
                let highest = state.positions.values.max()
                state.floor = [state.floor, highest, position].compactMap { $0 }.max()
                state.positions.removeAll(keepingCapacity: true)
            }
            state.positions[key] = max(state.positions[key] ?? position, position)
        }
    }

    /// The fence for a caller: its last write, or the floor when the table forgot it.
    func fence(token: String?) -> WALPosition? {
        state.withLockedValue { state in
            let own = token.flatMap { state.positions[$0.hashValue] }
            return [own, state.floor].compactMap { $0 }.max()
        }
    }
}
