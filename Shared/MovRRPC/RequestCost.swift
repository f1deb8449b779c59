import NIOConcurrencyHelpers

/// What one request cost each executable it reached: database statements (each one a round
/// trip) and calls to other services. Asked for with the `movr-cost` request header; every
/// executable on the path adds its own entry and merges its callees' entries from their replies,
/// so the gateway answers with the whole tree flattened per service (docs/API.md, "Round trips").
///
/// The round-trip budget test reads it; operators can ask for it too (it reveals counts only).
public final class RequestCost: Sendable {
    /// The request header that asks for the accounting, and the reply header that carries it.
    public static let header = "movr-cost"

    /// The request being accounted, if its caller asked (bound by the transport per request).
    @TaskLocal public static var current: RequestCost?

    /// One executable's share: statements sent to its database, calls made to other services.
    public struct Entry: Sendable, Equatable {
        public var service: String
        public var statements: Int
        public var calls: Int

        public init(service: String, statements: Int = 0, calls: Int = 0) {
            self.service = service
            self.statements = statements
            self.calls = calls
        }
    }

    private let state: NIOLockedValueBox<[Entry]>

    /// - Parameter service: the name of the executable doing the accounting (its first entry).
    public init(service: String) {
        state = NIOLockedValueBox([Entry(service: service)])
    }

    /// One statement sent to this executable's database.
    public func addStatement() {
        state.withLockedValue { $0[0].statements += 1 }
    }

    /// One call to another service; `reply` is the `movr-cost` header of its answer, if any.
    public func addCall(reply: String?) {
        let callee = reply.map(Self.parse) ?? []
        state.withLockedValue { entries in
            entries[0].calls += 1
            for entry in callee {
                if let index = entries.firstIndex(where: { $0.service == entry.service }) {
                    entries[index].statements += entry.statements
                    entries[index].calls += entry.calls
                } else {
                    entries.append(entry)
                }
            }
        }
    }

    /// The entries so far, this executable's first, then callees in the order they answered.
    public var entries: [Entry] { state.withLockedValue { $0 } }

    /// `gateway;db=0;calls=2, users;db=1;calls=0, ...` (the syntax of `Server-Timing`).
    public var headerValue: String {
        entries.map { "\($0.service);db=\($0.statements);calls=\($0.calls)" }.joined(separator: ", ")
    }

    /// Reads a `movr-cost` header; malformed entries are skipped (it is diagnostics, not data).
    public static func parse(_ value: String) -> [Entry] {
        value.split(separator: ",").compactMap { item in
            let parts = item.split(separator: ";").map { $0.trimmingOptionalWhitespace() }
            guard let name = parts.first, !name.isEmpty, name.count <= 64 else { return nil }
            var entry = Entry(service: String(name))
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, let number = Int(pair[1]), (0...1_000_000).contains(number) else { return nil }
                switch pair[0] {
                case "db": entry.statements = number
                case "calls": entry.calls = number
                default: continue
                }
            }
            return entry
        }
    }
}
