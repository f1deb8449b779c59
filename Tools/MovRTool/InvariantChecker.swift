import Foundation
import Logging
import MovRPostgres

/// `movr check`: verifies docs/architecture.md §2's invariants across the three service databases.
///
/// Cross-service facts (a vehicle in use ⇔ an active ride holds it) may lag by the documented
/// reconciliation bound after a crash; a mismatch younger than `bound` is reported as pending,
/// an older one as a violation.
public struct InvariantChecker: Sendable {
    public struct Report: Sendable, CustomStringConvertible {
        public var violations: [String] = []
        public var pending: [String] = []
        public var counts: [String: Int] = [:]
        /// One line per standby (ReplicationCheck).
        public var replication: [String] = []

        public var isClean: Bool { violations.isEmpty }

        public var description: String {
            var lines = counts.sorted(by: { $0.key < $1.key }).map { "  \($0.key): \($0.value)" }
            lines.insert("checked:", at: 0)
            if !replication.isEmpty {
                lines.append("replication:")
                lines += replication.map { "  \($0)" }
            }
            if violations.isEmpty {
                lines.append("OK: every invariant holds")
            } else {
                lines.append("VIOLATIONS (\(violations.count)):")
                lines += violations.map { "  - \($0)" }
            }
            if !pending.isEmpty {
                lines.append("pending repair (younger than the reconciliation bound):")
                lines += pending.map { "  - \($0)" }
            }
            return lines.joined(separator: "\n")
        }
    }

    let superuserURL: String
    let bound: Duration
    let logger: Logger

    public init(superuserURL: String, bound: Duration = .seconds(30), logger: Logger) {
        self.superuserURL = superuserURL
        self.bound = bound
        self.logger = logger
    }

    private func client(_ database: OwnedDatabase) -> PostgresClient {
        var components = URLComponents(string: superuserURL)
        components?.path = "/\(database.name)"
        return PostgresClient(configuration: PostgresConfiguration(url: components?.string ?? superuserURL, poolSize: 1),
                              logger: logger)
    }

    /// Runs until clean or `wait` has passed (pending repairs get time to finish).
    public func check(wait: Duration = .zero) async throws -> Report {
        let users = client(.users)
        let vehicles = client(.vehicles)
        let rides = client(.rides)
        let result: Result<Report, any Error>
        do {
            let deadline = ContinuousClock.now + wait
            var report = try await checkOnce(users: users, vehicles: vehicles, rides: rides)
            while !(report.isClean && report.pending.isEmpty), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(500))
                report = try await checkOnce(users: users, vehicles: vehicles, rides: rides)
            }
            result = .success(report)
        } catch {
            result = .failure(error)
        }
        await users.shutdown()
        await vehicles.shutdown()
        await rides.shutdown()
        return try result.get()
    }

    private func checkOnce(users: PostgresClient, vehicles: PostgresClient, rides: PostgresClient) async throws -> Report {
        var report = Report()
        let boundSeconds = Double(bound.components.seconds)

        // Invariant 1: at most one active ride per vehicle and per rider.
        for column in ["vehicle_id", "rider_id"] {
            let rows = try await rides.query("""
                SELECT \(unsafeSQL: column) AS key, count(*) AS n FROM rides WHERE status = 'active'
                GROUP BY \(unsafeSQL: column) HAVING count(*) > 1
                """)
            for row in rows {
                report.violations.append("invariant 1: \(column) \(try row.decode("key", as: UUID.self)) has \(try row.decode("n", as: Int.self)) active rides")
            }
        }

        // Invariant 2: in_use exactly when an active ride references the vehicle.
        let held = try await vehicles.query("""
            SELECT id, current_ride_id, extract(epoch FROM now() - reserved_at)::float8 AS age
            FROM vehicles WHERE status = 'in_use'
            """)
        let active = try await rides.query("""
            SELECT id, vehicle_id, extract(epoch FROM now() - start_time)::float8 AS age FROM rides WHERE status = 'active'
            """)
        var activeByRide: [UUID: UUID] = [:]
        var activeAge: [UUID: Double] = [:]
        for row in active {
            let ride = try row.decode("id", as: UUID.self)
            activeByRide[ride] = try row.decode("vehicle_id", as: UUID.self)
            activeAge[ride] = try row.decode("age", as: Double.self)
        }
        var heldByRide: [UUID: UUID] = [:]
        for row in held {
            let vehicle = try row.decode("id", as: UUID.self)
            let ride = try row.decode("current_ride_id", as: UUID.self)
            let age = try row.decode("age", as: Double?.self) ?? 0
            heldByRide[ride] = vehicle
            if activeByRide[ride] != vehicle {
                let message = "invariant 2: vehicle \(vehicle) is in_use for ride \(ride), which is not an active ride of it (age \(Int(age))s)"
                if age > boundSeconds { report.violations.append(message) } else { report.pending.append(message) }
            }
        }
        for (ride, vehicle) in activeByRide where heldByRide[ride] != vehicle {
            let age = activeAge[ride] ?? 0
            let message = "invariant 2: active ride \(ride) references vehicle \(vehicle), which is not in_use for it"
            if age > boundSeconds { report.violations.append(message) } else { report.pending.append(message) }
        }

        // Invariant 3: ended rides are complete, and the vehicle of each vehicle's latest ride
        // stands at that ride's end location.
        let incomplete = try await rides.query("""
            SELECT id FROM rides WHERE status = 'ended'
              AND (end_time IS NULL OR end_time < start_time OR end_latitude IS NULL OR end_longitude IS NULL
                   OR revenue IS NULL OR revenue < 0)
            """)
        for row in incomplete {
            report.violations.append("invariant 3: ended ride \(try row.decode("id", as: UUID.self)) is incomplete")
        }
        let latestEnded = try await rides.query("""
            SELECT DISTINCT ON (vehicle_id) vehicle_id, status, end_latitude, end_longitude,
                   extract(epoch FROM now() - end_time)::float8 AS age
            FROM rides ORDER BY vehicle_id, start_time DESC
            """)
        var endedAt: [UUID: (Double, Double, Double)] = [:]
        for row in latestEnded where try row.decode("status", as: String.self) == "ended" {
            endedAt[try row.decode("vehicle_id", as: UUID.self)] = (
                try row.decode("end_latitude", as: Double.self), try row.decode("end_longitude", as: Double.self),
                try row.decode("age", as: Double.self))
        }
        let positions = try await vehicles.query("SELECT id, status, latitude, longitude FROM vehicles")
        var vehicleIDs = Set<UUID>()
        for row in positions {
            let id = try row.decode("id", as: UUID.self)
            vehicleIDs.insert(id)
            guard let (latitude, longitude, age) = endedAt[id] else { continue }
            let status = try row.decode("status", as: String.self)
            let here = (try row.decode("latitude", as: Double.self), try row.decode("longitude", as: Double.self))
            let message = "invariant 3: vehicle \(id) is \(status) at \(here) but its last ride ended at (\(latitude), \(longitude))"
            if status == "in_use" || abs(here.0 - latitude) > 1e-9 || abs(here.1 - longitude) > 1e-9 {
                if age > boundSeconds { report.violations.append(message) } else { report.pending.append(message) }
            }
        }

        // Invariant 5 (data side): every ride and vehicle belongs to an existing user and vehicle.
        let userRows = try await users.query("SELECT id FROM users")
        let userIDs = Set(try userRows.map { try $0.decode("id", as: UUID.self) })
        let ownerRows = try await vehicles.query("SELECT DISTINCT owner_id FROM vehicles")
        let owners = try ownerRows.map { try $0.decode("owner_id", as: UUID.self) }
        for owner in owners where !userIDs.contains(owner) {
            report.violations.append("invariant 5: vehicles owned by unknown user \(owner)")
        }
        let riderRows = try await rides.query("SELECT DISTINCT rider_id, vehicle_id FROM rides")
        for row in riderRows {
            let rider = try row.decode("rider_id", as: UUID.self)
            let vehicle = try row.decode("vehicle_id", as: UUID.self)
            if !userIDs.contains(rider) { report.violations.append("invariant 5: ride by unknown user \(rider)") }
            if !vehicleIDs.contains(vehicle) { report.violations.append("invariant 5: ride of unknown vehicle \(vehicle)") }
        }

        // Cross-service effects not yet applied.
        let outbox = try await rides.query("""
            SELECT ride_id, extract(epoch FROM now() - created_at)::float8 AS age FROM outbox
            """)
        for row in outbox {
            let age = try row.decode("age", as: Double.self)
            let message = "outbox: effect of ride \(try row.decode("ride_id", as: UUID.self)) not yet applied (age \(Int(age))s)"
            if age > boundSeconds { report.violations.append(message) } else { report.pending.append(message) }
        }

        report.counts = ["users": userIDs.count, "vehicles": vehicleIDs.count, "vehicles in use": held.count,
                         "active rides": active.count,
                         "rides": try await rides.query("SELECT count(*) AS n FROM rides").first?.decode("n", as: Int.self) ?? 0]
        return report
    }
}

