import FoundationEssentials
import Logging
import Metrics
import MovRInternalAPI
import MovRPostgres
import MovRRPC
import MovRRPCTransport
import MovRService
import NIOConcurrencyHelpers

/// Regional reads from a streaming-replication standby (docs/architecture.md §8).
///
/// - A read-only method asks ``useReplica(_:)``: the standby serves it when it is known to be
///   at most `maxLag` behind the primary and, if the request carries `X-MovR-Min-LSN` (the WAL
///   position of the caller's last write), when it has replayed at least that far; otherwise
///   the primary does. A stale read is never served to the writer of a newer change.
/// - After a write, ``reportWritePosition(_:)`` adds `X-MovR-LSN` (the primary's current WAL
///   position, which every commit acknowledged so far precedes) to the reply.
/// - ``sample()`` (every `interval`) measures the lag: it reads the primary's position P at time
///   t and the standby's replay position R; the standby holds everything committed before the
///   latest sampled t whose P <= R, so `now - t` bounds its staleness from above.
public final class RegionalReads: Sendable {
    public let primary: PostgresClient
    public let replica: PostgresClient?
    public let maxLag: Duration
    public let reportsWritePosition: Bool
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let lagSeconds = Gauge(label: "movr_replica_lag_seconds")
    private let lagBytes = Gauge(label: "movr_replica_lag_bytes")
    private let replicaReads = Counter(label: "movr_regional_reads_total", dimensions: [("source", "replica")])
    private let primaryReadsLag = Counter(label: "movr_regional_reads_total", dimensions: [("source", "primary"), ("reason", "lag")])
    private let primaryReadsFence = Counter(label: "movr_regional_reads_total",
                                            dimensions: [("source", "primary"), ("reason", "read_your_writes")])

    struct State {
        /// Primary positions sampled, oldest first, none older than the freshest one replayed.
        var samples: [(at: ContinuousClock.Instant, position: WALPosition)] = []
        var replayed: WALPosition?
        /// The standby holds every commit acknowledged before this instant.
        var freshAsOf: ContinuousClock.Instant?
        /// Whether the last sample found the standby within `maxLag` (nil until it is known),
        /// so the log says when reads move between the standby and the primary.
        var withinBound: Bool?
        var firstSample: ContinuousClock.Instant?
    }

    public init(primary: PostgresClient, replica: PostgresClient?, maxLag: Duration, reportsWritePosition: Bool,
                logger: Logger) {
        self.primary = primary
        self.replica = replica
        self.maxLag = maxLag
        self.reportsWritePosition = reportsWritePosition
        self.logger = logger
    }

    /// Whether a read-only call may be answered from the standby.
    public func useReplica(_ context: RPCContext) async -> Bool {
        guard let replica else { return false }
        let (freshAsOf, replayed) = state.withLockedValue { ($0.freshAsOf, $0.replayed) }
        guard let freshAsOf, ContinuousClock.now - freshAsOf <= maxLag else {
            primaryReadsLag.increment()
            return false
        }
        guard let header = context.header(RPCHeader.minimumLSN) else {
            replicaReads.increment()
            return true
        }
        // An unreadable fence cannot be proven satisfied: the primary answers.
        guard let fence = WALPosition(String(header.trimmingOptionalWhitespace())) else {
            primaryReadsFence.increment()
            return false
        }
        if let replayed, replayed >= fence {
            replicaReads.increment()
            return true
        }
        // The sampled position may be old: ask the standby (same region, no WAN trip).
        if let now = try? await Self.position(replica, "SELECT pg_last_wal_replay_lsn()::text"), now >= fence {
            state.withLockedValue { $0.replayed = max($0.replayed ?? now, now) }
            replicaReads.increment()
            return true
        }
        primaryReadsFence.increment()
        return false
    }

    /// Adds `X-MovR-LSN` to the current reply (after a successful write), when configured and
    /// the caller is a gateway. A service calling another (rides -> vehicles) needs no position:
    /// it reports its own after the whole flow, which follows every commit of the flow (one
    /// cluster, one WAL), so the inner call skips the extra primary round trip.
    public func reportWritePosition(_ context: RPCContext) async {
        guard reportsWritePosition, context.caller == nil || context.callerIdentity == .gateway else { return }
        do {
            let position = try await Self.position(primary, "SELECT pg_current_wal_lsn()::text")
            RPCResponseHeaders.add(RPCHeader.lsn, position.description)
        } catch {
            // The write stands; without the header the caller's gateway cannot fence its reads,
            // which the log makes visible.
            logger.warning("cannot read the WAL position after a write", metadata: ["error": "\(error)"])
        }
    }

    /// One lag measurement; run every ~100 ms by ``monitor(interval:)``.
    public func sample() async {
        guard let replica else { return }
        let at = ContinuousClock.now
        do {
            let primaryPosition = try await Self.position(primary, "SELECT pg_current_wal_lsn()::text")
            let replayed = try await Self.position(replica, "SELECT pg_last_wal_replay_lsn()::text")
            let (fresh, behind, changed) = state.withLockedValue { state -> (ContinuousClock.Instant?, UInt64, Bool?) in
                state.samples.append((at, primaryPosition))
                state.replayed = max(state.replayed ?? replayed, replayed)
                if let index = state.samples.lastIndex(where: { $0.position <= replayed }) {
                    state.freshAsOf = max(state.freshAsOf ?? state.samples[index].at, state.samples[index].at)
                    state.samples.removeFirst(index)
                }
                if state.samples.count > 1_000 { state.samples.removeFirst(state.samples.count - 1_000) }
                let latest = state.samples.last?.position ?? primaryPosition
                let now = ContinuousClock.now
                let within = state.freshAsOf.map { now - $0 <= maxLag } ?? false
                state.firstSample = state.firstSample ?? at
                // A standby still catching up just after start is not news unless it stays behind.
                let settling = !within && state.withinBound == nil && now - (state.firstSample ?? at) <= maxLag
                let changed = (settling || state.withinBound == within) ? nil : within
                if !settling { state.withinBound = within }
                return (state.freshAsOf, latest.value > replayed.value ? latest.value - replayed.value : 0, changed)
            }
            lagBytes.record(Int64(clamping: behind))
            let lag = fresh.map { ContinuousClock.now - $0 }
            if let lag { lagSeconds.record(Self.seconds(lag)) }
            switch changed {
            case true?:
                logger.info("the standby is within the lag bound; reads go to it",
                            metadata: ["lag": "\(lag.map(Self.seconds) ?? 0)s", "bound": "\(Self.seconds(maxLag))s"])
            case false?:
                logger.warning("the standby is behind the lag bound; reads go to the primary",
                               metadata: ["lag": "\(lag.map { "\(Self.seconds($0))s" } ?? "unknown")",
                                          "behind_bytes": "\(behind)", "bound": "\(Self.seconds(maxLag))s"])
            case nil:
                break
            }
        } catch {
            state.withLockedValue {
                $0.freshAsOf = nil
                $0.withinBound = false
            }
            lagSeconds.record(Double.infinity)
            logger.warning("replica lag sample failed; reads go to the primary", metadata: ["error": "\(error)"])
        }
    }

    /// Staleness bound now (nil: unknown, reads go to the primary).
    public var currentLag: Duration? {
        state.withLockedValue { $0.freshAsOf }.map { ContinuousClock.now - $0 }
    }

    /// Measures the lag every `interval` until shutdown (a background service of the executable).
    public func monitor(interval: Duration = .milliseconds(100)) -> PeriodicService {
        PeriodicService(name: "replica lag monitor", interval: interval, logger: logger) { [self] in
            await sample()
        }
    }

    public func shutdown() async {
        await replica?.shutdown()
    }

    static func position(_ client: PostgresClient, _ query: PostgresQuery) async throws -> WALPosition {
        let rows = try await client.query(query)
        guard let text = rows.first?[0], let position = WALPosition(text) else {
            throw PostgresError(code: .decoding, serverMessage: "no WAL position (is the replica a standby?)")
        }
        return position
    }
}

extension RegionalReads {
    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
