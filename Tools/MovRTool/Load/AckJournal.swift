import Foundation
import Logging
import MovRPostgres

/// Every write the gateway acknowledged during a `movr load run --ack-log FILE`, one line each
/// (`ride_started <id>`, `ride_ended <id>`, `vehicle_added <id>`, `user_registered <username>`),
/// so `movr load verify FILE` can show afterwards that none was lost — e.g. across a region
/// failure (docs/operations.md).
public final class AckJournal: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case rideStarted = "ride_started"
        case rideEnded = "ride_ended"
        case vehicleAdded = "vehicle_added"
        case userRegistered = "user_registered"
    }

    private let handle: FileHandle
    private let lock = NSLock()

    /// Appends to `path` (created 0600 when missing).
    public init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw StackError("cannot create \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw StackError("cannot write \(path)") }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    public func record(_ kind: Kind, _ id: String) {
        let line = Data("\(kind.rawValue) \(id)\n".utf8)
        lock.lock()
        defer { lock.unlock() }
        handle.write(line)
    }

    /// The journal's entries by kind; unknown lines are an error (a truncated or foreign file).
    public static func read(path: String) throws -> [Kind: [String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw StackError("cannot read \(path)") }
        var entries: [Kind: [String]] = [:]
        for (number, line) in text.split(separator: "\n").enumerated() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])) else {
                throw StackError("\(path):\(number + 1): not a journal line")
            }
            entries[kind, default: []].append(String(parts[1]))
        }
        return entries
    }

    /// What `verify` found: per kind, how many were acknowledged and which are missing.
    public struct Verification: CustomStringConvertible, Sendable {
        public var acknowledged: [Kind: Int] = [:]
        public var missing: [Kind: [String]] = [:]
        public var isComplete: Bool { missing.values.allSatisfy(\.isEmpty) }

        public var description: String {
            let parts = Kind.allCases.map { kind in
                "\(kind.rawValue) \(acknowledged[kind] ?? 0) acknowledged, \(missing[kind]?.count ?? 0) missing"
            }
            var text = parts.joined(separator: "; ")
            for kind in Kind.allCases {
                for id in (missing[kind] ?? []).prefix(10) { text += "\n  missing \(kind.rawValue) \(id)" }
            }
            return text
        }
    }

    /// Checks every acknowledged write against the databases (superuser URL): started rides
    /// exist, ended rides are ended, added vehicles and registered users exist.
    public static func verify(path: String, superuserURL: String, logger: Logger) async throws -> Verification {
        let entries = try read(path: path)
        func client(_ database: OwnedDatabase) -> PostgresClient {
            var components = URLComponents(string: superuserURL)
            components?.path = "/\(database.name)"
            return PostgresClient(configuration: PostgresConfiguration(url: components?.string ?? superuserURL, poolSize: 1),
                                  logger: logger)
        }
        let rides = client(.rides), vehicles = client(.vehicles), users = client(.users)
        defer {
            Task { await rides.shutdown(); await vehicles.shutdown(); await users.shutdown() }
        }
        var rideStatus: [String: String] = [:]
        for row in try await rides.query("SELECT id::text AS id, status FROM rides") {
            rideStatus[try row.decode("id", as: String.self)] = try row.decode("status", as: String.self)
        }
        let vehicleIDs = Set(try await vehicles.query("SELECT id::text AS id FROM vehicles").map { try $0.decode("id", as: String.self) })
        let usernames = Set(try await users.query("SELECT username FROM users").map { try $0.decode("username", as: String.self) })
        var result = Verification()
        for kind in Kind.allCases {
            let ids = entries[kind] ?? []
            result.acknowledged[kind] = ids.count
            result.missing[kind] = ids.filter { id in
                switch kind {
                case .rideStarted: rideStatus[id.lowercased()] == nil
                case .rideEnded: rideStatus[id.lowercased()] != "ended"
                case .vehicleAdded: !vehicleIDs.contains(id.lowercased())
                case .userRegistered: !usernames.contains(id)
                }
            }
        }
        return result
    }
}
