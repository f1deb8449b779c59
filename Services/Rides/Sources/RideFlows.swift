import FoundationEssentials
import Logging
import MovRAPI
import MovRInternalAPI
import MovRRPC
import NIOConcurrencyHelpers

/// A ride to start, named by its id: what a `rides.start` call means once the service has
/// derived the ride's id from the rider and the idempotency key (`IdempotentCreate`).
public struct RideStart: Sendable {
    public var rideID: UUID
    public var riderID: UUID
    public var vehicleID: UUID

    public init(rideID: UUID, riderID: UUID, vehicleID: UUID) {
        self.rideID = rideID
        self.riderID = riderID
        self.vehicleID = vehicleID
    }

    public init(_ params: InternalRidesStartParams) throws {
        self.init(rideID: try IdempotentCreate.objectID(.ride, owner: params.riderID, key: params.idempotencyKey),
                  riderID: params.riderID, vehicleID: params.vehicleID)
    }
}

/// The ride operations that span the rides database and the vehicles service, written so a
/// crash between any two steps is repaired: every vehicles call is idempotent per ride id, a
/// reservation without a ride is undone by the reconciler (``RideReconciler``), and a vehicle
/// release owed by an ended ride sits in the outbox until delivered. Errors meant for callers
/// are ``RidesError``s, or the vehicles service's own answers passed on.
public struct RideFlows: Sendable {
    public let store: RidesStore
    public let vehicles: any VehiclesPort
    /// This deployment's region; the reconciler repairs only its own region's reservations.
    public let region: String
    let armedFault: String?
    let logger: Logger
    /// Outbox entries delivered but not yet deleted (see ``acknowledgeDelivered()``).
    let delivered: DeliveredOutbox

    public init(store: RidesStore, vehicles: any VehiclesPort, region: String, armedFault: String? = nil, logger: Logger) {
        self.delivered = DeliveredOutbox()
        self.store = store
        self.vehicles = vehicles
        self.region = region
        self.armedFault = armedFault
        self.logger = logger
    }

    // MARK: Start

    /// Starts a ride, or returns the ride a previous attempt with the same id started.
    public func start(_ params: RideStart, context: RPCContext? = nil) async throws -> Ride {
        switch try await store.precheckStart(rideID: params.rideID, riderID: params.riderID) {
        case .existing(let ride): return ride
        case .idOfAnotherRider: throw RidesError.idempotencyKeyReused
        case .cancelled(let reason): throw RidesError.cancelledStart(reason: reason)
        case .riderHasActiveRide: throw RidesError.activeRideExists
        case .clear: break
        }

        let vehicle = try await vehicles.reserve(vehicleID: params.vehicleID, rideID: params.rideID, riderID: params.riderID,
                                                  context: context)
        FaultPoint.hit(FaultPoint.afterReserve, armed: armedFault)

        let currency: String
        do {
            currency = try store.tariffs.currency(vehicleType: vehicle.type.rawValue, region: vehicle.region)
        } catch {
            logger.error("vehicle has no price; undoing its reservation",
                         metadata: ["vehicle_id": "\(vehicle.id)", "reason": "\(error.reason)"])
            if let ride = try await abandon(params, because: .vehicleUnavailable, context: context) { return ride }
            throw RidesError.vehicleUnavailable
        }

        let outcome = try await store.insertStartedRide(NewRide(
            id: params.rideID, riderID: params.riderID, vehicleID: vehicle.id, vehicleType: vehicle.type.rawValue,
            city: vehicle.city, region: vehicle.region, startLocation: vehicle.location, currency: currency))
        switch outcome {
        case .inserted(let ride):
            return ride
        case .alreadyRecorded:
            guard let ride = try await store.ride(id: params.rideID, riderID: params.riderID) else {
                throw RidesError.idempotencyKeyReused
            }
            return ride
        case .cancelled(let reason):
            // The reconciler got here first; it releases too, this only makes it sooner.
            await releaseQuietly(ReleaseVehicleParams(vehicleID: vehicle.id, rideID: params.rideID, location: nil, battery: nil),
                                 context: context)
            throw RidesError.cancelledStart(reason: reason)
        case .riderHasActiveRide:
            if let ride = try await abandon(params, because: .activeRideExists, context: context) { return ride }
            throw RidesError.activeRideExists
        case .vehicleHasActiveRide:
            if let ride = try await abandon(params, because: .vehicleUnavailable, context: context) { return ride }
            throw RidesError.vehicleUnavailable
        }
    }

    /// Undoes a reservation whose ride cannot be recorded: tombstones the id first (so no
    /// concurrent retry can record it afterwards), then frees the vehicle. Returns the ride
    /// instead when a concurrent retry recorded it first; then nothing is undone.
    private func abandon(_ params: RideStart, because fault: RidesError,
                         context: RPCContext?) async throws -> Ride? {
        switch try await store.cancelRide(id: params.rideID, region: region, reason: fault.tombstoneReason) {
        case .started:
            return try await store.ride(id: params.rideID, riderID: params.riderID)
        case .cancelled:
            await releaseQuietly(ReleaseVehicleParams(vehicleID: params.vehicleID, rideID: params.rideID,
                                                      location: nil, battery: nil),
                                 context: context)
            return nil
        }
    }

    /// A release whose failure the reconciler repairs (the id is a tombstone by then).
    private func releaseQuietly(_ params: ReleaseVehicleParams, context: RPCContext?) async {
        do {
            _ = try await vehicles.release(params, context: context)
        } catch {
            logger.warning("release after a failed start did not go through; the reconciler will retry",
                           metadata: ["ride_id": "\(params.rideID)", "error": "\(error)"])
        }
    }

    // MARK: End

    /// Ends the rider's active ride, prices it, and frees the vehicle at the end location.
    public func end(_ params: InternalRidesEndParams, context: RPCContext? = nil) async throws -> Ride {
        switch try await store.endRide(id: params.rideID, riderID: params.riderID,
                                       location: params.location, battery: params.battery) {
        case .notFound:
            throw RidesError.rideNotFound
        case .alreadyEnded:
            throw RidesError.rideAlreadyEnded
        case .ended(let ended):
            let entry = OutboxEntry(id: ended.outboxID, rideID: ended.ride.id, attempts: 0, release: ended.release)
            _ = await deliver(entry, context: context)
            return ended.ride
        }
    }

    /// Delivers one outbox entry; true when it is done with (delivered, or undeliverable for
    /// good). A failed delivery is rescheduled with exponential backoff.
    ///
    /// A done entry is not deleted here: its id joins ``DeliveredOutbox`` and one statement
    /// deletes a batch shortly after (``acknowledgeDelivered()``), so `rides.end` costs one
    /// database round trip, not two. Until then the entry's lease keeps the relay away from it;
    /// if the process dies first, the relay delivers it again, which changes nothing (a release
    /// is idempotent per ride id).
    func deliver(_ entry: OutboxEntry, context: RPCContext?) async -> Bool {
        let params = ReleaseVehicleParams(
            vehicleID: entry.release.vehicleID, rideID: entry.rideID,
            location: Location(latitude: entry.release.latitude, longitude: entry.release.longitude),
            battery: entry.release.battery)
        do {
            if try await vehicles.release(params, context: context) == .vehicleGone {
                logger.error("vehicle of an ended ride not found; dropping its release",
                             metadata: ["ride_id": "\(entry.rideID)", "vehicle_id": "\(entry.release.vehicleID)"])
            }
            delivered.add(entry.id)
            return true
        } catch {
            let delay = Self.backoff(attempts: entry.attempts)
            logger.warning("vehicle release not delivered; will retry",
                           metadata: ["ride_id": "\(entry.rideID)", "retry_in": "\(delay)", "error": "\(error)"])
            try? await store.retryOutbox(id: entry.id, after: delay)
            return false
        }
    }

    /// Deletes the outbox entries delivered since the last call, in one statement. A failure
    /// only means those entries are delivered once more after their lease.
    public func acknowledgeDelivered() async {
        let ids = delivered.takeAll()
        guard !ids.isEmpty else { return }
        do {
            try await store.deleteOutbox(ids: ids)
        } catch {
            logger.warning("delivered outbox entries not deleted; the relay will deliver them again",
                           metadata: ["count": "\(ids.count)", "error": "\(error)"])
        }
    }

    /// Delay before the next delivery attempt of an outbox entry: 1 s, 2 s, 4 s, ... one minute at most.
    public static func backoff(attempts: Int) -> Duration {
        .seconds(min(1 << min(max(attempts, 0), 6), 60))
    }

    // MARK: Positions

    /// Records a position of the rider's active ride and moves its vehicle there.
    public func updateLocation(_ params: InternalRidesUpdateLocationParams, context: RPCContext? = nil) async throws {
        switch try await store.recordLocation(rideID: params.rideID, riderID: params.riderID, location: params.location) {
        case .notFound:
            throw RidesError.rideNotFound
        case .alreadyEnded:
            throw RidesError.rideAlreadyEnded
        case .recorded(let vehicleID):
            try await vehicles.recordLocation(
                RecordVehicleLocationParams(vehicleID: vehicleID, rideID: params.rideID, location: params.location),
                context: context)
        }
    }
}

/// Ids of outbox entries whose effect was delivered, waiting for one batched delete.
final class DeliveredOutbox: Sendable {
    private let ids = NIOLockedValueBox<[Int64]>([])

    func add(_ id: Int64) {
        ids.withLockedValue { $0.append(id) }
    }

    func takeAll() -> [Int64] {
        ids.withLockedValue { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }
}
