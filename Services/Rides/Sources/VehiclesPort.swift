import FoundationEssentials
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport

/// What the rides flows need from the vehicles service. Every method is idempotent per ride
/// id, so callers may retry freely. Errors are ``RPCError``s as the vehicles service sent them,
/// passed on to the rides service's caller unchanged.
public protocol VehiclesPort: Sendable {
    /// Holds the vehicle for the ride; returns the vehicle as held.
    func reserve(vehicleID: UUID, rideID: UUID, riderID: UUID, context: RPCContext?) async throws -> Vehicle
    /// Frees the vehicle if `rideID` still holds it (at `location` with `battery` when given).
    func release(_ params: ReleaseVehicleParams, context: RPCContext?) async throws -> VehicleReleaseOutcome
    func recordLocation(_ params: RecordVehicleLocationParams, context: RPCContext?) async throws
    /// The vehicles of `region` held by a ride since before `reservedBefore`.
    func reservations(region: String, reservedBefore: Date) async throws -> [VehicleReservation]
}

/// What a release found.
public enum VehicleReleaseOutcome: Sendable, Equatable {
    /// The vehicle is free (now, or already: a release is idempotent).
    case released
    /// The vehicle no longer exists: retrying cannot help.
    case vehicleGone
}

/// The vehicles service over internal JSON-RPC (mutual TLS).
public struct RPCVehiclesPort: VehiclesPort {
    let client: RPCClient

    public init(client: RPCClient) {
        self.client = client
    }

    private func options(_ context: RPCContext?) -> RPCCallOptions {
        context.map { RPCCallOptions(from: $0, idempotent: true) } ?? RPCCallOptions(idempotent: true)
    }

    public func reserve(vehicleID: UUID, rideID: UUID, riderID: UUID, context: RPCContext?) async throws -> Vehicle {
        try await client.call(InternalMethod.Vehicles.reserve,
                              params: ReserveVehicleParams(vehicleID: vehicleID, rideID: rideID, riderID: riderID),
                              as: VehicleResult.self, options: options(context)).vehicle
    }

    public func release(_ params: ReleaseVehicleParams, context: RPCContext?) async throws -> VehicleReleaseOutcome {
        do {
            _ = try await client.call(InternalMethod.Vehicles.release, params: params,
                                      as: VehicleResult.self, options: options(context))
            return .released
        } catch let error as RPCError where error.code == RPCError.Code.notFound {
            return .vehicleGone
        }
    }

    public func recordLocation(_ params: RecordVehicleLocationParams, context: RPCContext?) async throws {
        _ = try await client.call(InternalMethod.Vehicles.recordLocation, params: params,
                                  as: RPCEmpty.self, options: options(context))
    }

    public func reservations(region: String, reservedBefore: Date) async throws -> [VehicleReservation] {
        try await client.call(InternalMethod.Vehicles.listInUse,
                              params: VehiclesInUseParams(region: region, reservedBefore: reservedBefore),
                              as: VehiclesInUseResult.self, options: options(nil)).reservations
    }
}
