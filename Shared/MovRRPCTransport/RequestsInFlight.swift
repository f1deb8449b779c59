import Synchronization

/// JSON-RPC requests this process's servers are handling right now: from the handler's start
/// to its answer, every listener and connection together. A load gauge for decisions that pay
/// only when the process is otherwise idle: the database client polls for a statement's answer
/// itself only while this is at most one (docs/operations.md, `MOVR_DB_SPIN_US`).
public enum RequestsInFlight {
    private static let count = Atomic<Int>(0)

    public static var current: Int { count.load(ordering: .relaxed) }

    static func begin() { count.add(1, ordering: .relaxed) }

    static func end() { count.subtract(1, ordering: .relaxed) }
}
