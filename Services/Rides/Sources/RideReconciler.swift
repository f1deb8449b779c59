import FoundationEssentials
import Logging
import Metrics
import MovRAPI
import MovRInternalAPI

/// What one reconciliation pass did.
public struct ReconcileReport: Sendable, Equatable {
    /// Reservations of this region old enough to judge.
    public var reservationsChecked = 0
    /// Ride ids this pass tombstoned (their start died between reserving and recording).
    public var cancelledRideIDs: [UUID] = []
    /// Ride ids whose vehicle this pass released (cancelled or ended rides).
    public var releasedRideIDs: [UUID] = []
    public var outboxDelivered = 0
    public var outboxFailed = 0
    /// Reservations that could not be repaired this pass (retried on the next).
    public var failures = 0

    public init() {}
}

/// Keeps docs/architecture.md §2 invariant 2 after crashes: a vehicle is `in_use` exactly when an active
/// ride references it.
///
/// Each pass first relays the outbox (vehicle releases owed by ended rides), then compares the
/// vehicles service's reservations of this region with the rides database. A reservation older
/// than the grace period whose ride id has neither an active ride nor a recorded one is
/// tombstoned and undone; the tombstone makes a late insert by a start still in flight fail
/// (that start then answers 409 `vehicle_unavailable`). So a crash between reserve and record
/// is repaired within grace + interval (about 7 s with the defaults 5 s and 2 s); a crash after
/// ending a ride but before its release, within the outbox lease + interval (about 12 s).
public struct RideReconciler: Sendable {
    public let flows: RideFlows
    /// How old a reservation must be before a missing ride counts as a dead start rather than
    /// one still in flight.
    public let grace: Duration
    let outboxBatch: Int

    public init(flows: RideFlows, grace: Duration, outboxBatch: Int = 100) {
        self.flows = flows
        self.grace = grace
        self.outboxBatch = outboxBatch
    }

    /// One pass: relay due outbox entries, then repair this region's stale reservations.
    public func reconcileOnce(now: Date = Date()) async throws -> ReconcileReport {
        var report = ReconcileReport()
        try await relayOutbox(into: &report)
        try await repairReservations(now: now, into: &report)
        Counter(label: "movr_rides_tombstoned_total").increment(by: report.cancelledRideIDs.count)
        Counter(label: "movr_rides_reconciler_releases_total").increment(by: report.releasedRideIDs.count)
        Counter(label: "movr_rides_outbox_delivered_total").increment(by: report.outboxDelivered)
        Counter(label: "movr_rides_outbox_failed_total").increment(by: report.outboxFailed)
        return report
    }

    private func relayOutbox(into report: inout ReconcileReport) async throws {
        await flows.acknowledgeDelivered()
        for entry in try await flows.store.leaseDueOutbox(limit: outboxBatch) {
            if await flows.deliver(entry, context: nil) {
                report.outboxDelivered += 1
            } else {
                report.outboxFailed += 1
            }
        }
    }

    private func repairReservations(now: Date, into report: inout ReconcileReport) async throws {
        let graceSeconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
        let cutoff = now.addingTimeInterval(-graceSeconds)
        let candidates = try await flows.vehicles.reservations(region: flows.region, reservedBefore: cutoff)
        report.reservationsChecked = candidates.count
        guard !candidates.isEmpty else { return }
        let states = try await flows.store.reservedRideStates(rideIDs: candidates.map(\.rideID))
        for reservation in candidates {
            do {
                try await repair(reservation, state: states[reservation.rideID] ?? .unknown, into: &report)
            } catch {
                report.failures += 1
                flows.logger.warning("reservation not repaired; retrying next pass",
                                     metadata: ["ride_id": "\(reservation.rideID)", "error": "\(error)"])
            }
        }
    }

    private func repair(_ reservation: VehicleReservation, state: ReservedRideState,
                        into report: inout ReconcileReport) async throws {
        var location: Location?
        switch state {
        case .active:
            return
        case .ended(_, releasePending: true):
            return  // the outbox relay delivers it, with the reported battery
        case .ended(let endLocation, releasePending: false):
            location = endLocation
        case .cancelled:
            break
        case .unknown:
            switch try await flows.store.cancelRide(id: reservation.rideID, region: flows.region,
                                                    reason: RidesError.vehicleUnavailable.tombstoneReason) {
            case .started:
                return  // recorded just now: the start finished after all
            case .cancelled:
                report.cancelledRideIDs.append(reservation.rideID)
                flows.logger.notice("tombstoned a ride whose start did not finish",
                                    metadata: ["ride_id": "\(reservation.rideID)", "vehicle_id": "\(reservation.vehicleID)"])
            }
        }
        let released = try await flows.vehicles.release(
            ReleaseVehicleParams(vehicleID: reservation.vehicleID, rideID: reservation.rideID, location: location, battery: nil),
            context: nil)
        // A vehicle deleted since it was listed holds nothing any more.
        guard released == .released else { return }
        report.releasedRideIDs.append(reservation.rideID)
    }
}
