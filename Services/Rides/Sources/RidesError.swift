/// What can go wrong with a ride or a promo code, named for what happened. The flows throw
/// these; the service's edge (``RidesService``) gives each its code and reason, once.
public enum RidesError: Error, Sendable, Equatable {
    /// A start whose ride id belongs to another rider's ride: a key collision, not a retry.
    case idempotencyKeyReused
    /// The rider already has a ride in progress.
    case activeRideExists
    /// Another ride holds the vehicle, or it cannot be priced.
    case vehicleUnavailable
    /// No ride of this rider has that id.
    case rideNotFound
    case rideAlreadyEnded
    case promoCodeExists
    case promoCodeNotFound

    /// The reason a cancelled start's tombstone records for this fault
    /// (``RidesStore/cancelRide(id:region:reason:)``); every fault but a busy rider is recorded
    /// as an unavailable vehicle.
    var tombstoneReason: String {
        self == .activeRideExists ? "active_ride_exists" : "vehicle_unavailable"
    }

    /// The fault a start ended with, from the reason its tombstone records: a retry of that
    /// start meets the same fault.
    static func cancelledStart(reason: String) -> RidesError {
        reason == RidesError.activeRideExists.tombstoneReason ? .activeRideExists : .vehicleUnavailable
    }
}
