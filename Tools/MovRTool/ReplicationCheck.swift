import Foundation
import Logging
import MovRPostgres

/// The replication part of `movr check`: every standby named in the stack file streams from the
/// primary through its slot, is in recovery, and replays within `maxLag`.
public struct ReplicationCheck: Sendable {
    public struct Standby: Sendable, Equatable {
        public var region: String
        public var streaming: Bool
        /// Seconds the primary measured for the last replayed WAL (nil: nothing to replay yet).
        public var replayLagSeconds: Double?
        public var bytesBehind: Int64?
    }

    let primaryURL: String
    let standbys: [String: String]
    let maxLag: Duration
    let logger: Logger

    public init(primaryURL: String, standbys: [String: String], maxLag: Duration, logger: Logger) {
        self.primaryURL = primaryURL
        self.standbys = standbys
        self.maxLag = maxLag
        self.logger = logger
    }

    /// Adds one line per standby to `report`, and a violation for one that does not stream,
    /// is not a standby, or lags beyond `maxLag`.
    public func check(into report: inout InvariantChecker.Report) async throws {
        guard !standbys.isEmpty else { return }
        let primary = PostgresClient(configuration: PostgresConfiguration(url: primaryURL, poolSize: 1), logger: logger)
        let states: [String: Standby]
        do {
            states = try await slotStates(primary)
        } catch {
            await primary.shutdown()
            throw error
        }
        await primary.shutdown()
        let bound = Double(maxLag.components.seconds) + Double(maxLag.components.attoseconds) / 1e18
        for (region, url) in standbys.sorted(by: { $0.key < $1.key }) {
            let state = states[region]
            let inRecovery = await Self.isInRecovery(url: url, logger: logger)
            let lag = state?.replayLagSeconds.map { String(format: "%.3f s", $0) } ?? "none"
            let behind = state?.bytesBehind.map { "\($0) bytes" } ?? "unknown"
            report.replication.append(
                "\(region): \(state?.streaming == true ? "streaming" : "NOT streaming"), replay lag \(lag), \(behind) behind")
            report.counts["standbys"] = (report.counts["standbys"] ?? 0) + 1
            if state?.streaming != true || !inRecovery {
                report.violations.append("standby of \(region) is not streaming from the primary (or not in recovery)")
            } else if let seconds = state?.replayLagSeconds, seconds > bound, (state?.bytesBehind ?? 0) > 0 {
                report.violations.append(String(format: "standby of %@ lags %.3f s (bound %.3f s)", region, seconds, bound))
            }
        }
    }

    /// Per region (from the slot name `movr_standby_<region>`): the primary's view.
    private func slotStates(_ primary: PostgresClient) async throws -> [String: Standby] {
        let rows = try await primary.query("""
            SELECT s.slot_name, r.state = 'streaming' AS streaming,
                   EXTRACT(EPOCH FROM r.replay_lag)::float8 AS lag,
                   pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::int8 AS behind
              FROM pg_replication_slots s
              LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
             WHERE s.slot_name LIKE 'movr_standby_%'
            """)
        var states: [String: Standby] = [:]
        for region in standbys.keys {
            let slot = LocalStack.replicationSlot(for: region)
            guard let row = rows.first(where: { $0[0] == slot }) else { continue }
            states[region] = Standby(region: region, streaming: row[1] == "t",
                                     replayLagSeconds: row[2].flatMap(Double.init), bytesBehind: row[3].flatMap(Int64.init))
        }
        return states
    }

    static func isInRecovery(url: String, logger: Logger) async -> Bool {
        let client = PostgresClient(configuration: PostgresConfiguration(url: url, poolSize: 1), logger: logger)
        let rows = try? await client.query("SELECT pg_is_in_recovery()")
        await client.shutdown()
        return rows?.first?[0] == "t"
    }
}
