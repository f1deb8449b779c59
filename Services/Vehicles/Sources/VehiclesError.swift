/// What can go wrong with a vehicle, named for what happened. The store throws these; the
/// service's edge (``VehiclesService``) gives each its code and reason, once.
public enum VehiclesError: Error, Sendable, Equatable {
    /// The city is not in the locality map.
    case unknownCity
    /// An add with the id of another owner's vehicle: a key collision, not a retry.
    case idempotencyKeyReused
    case vehicleNotFound
    /// Only the owner may remove the vehicle or see its history outside a ride.
    case notVehicleOwner
    /// The owner cannot remove a vehicle during a ride.
    case vehicleInUse
    /// Another ride holds the vehicle, or it is out of service.
    case vehicleUnavailable
    /// The ride no longer holds the vehicle (it ended, or never reserved it).
    case rideNotActive
}

/// A vehicle that an insert or its read-back must have produced was not there: a broken
/// assumption about the database, answered as an internal error (and logged).
struct VehicleMissingAfterAdd: Error, CustomStringConvertible {
    var description: String { "the vehicle just added was not found" }
}
