import MovRRPC
import Testing
@testable import MovRRides

/// Pins what callers receive for each domain error of the rides service (docs/API.md): the
/// service's edge is the only place these are mapped.
@Suite("rides error mapping")
struct RidesErrorMappingTests {
    static let pinned: [(error: RidesError, code: Int, reason: String)] = [
        (.idempotencyKeyReused, 409, "idempotency_key_reused"),
        (.activeRideExists, 409, "active_ride_exists"),
        (.vehicleUnavailable, 409, "vehicle_unavailable"),
        (.rideNotFound, 404, "ride_not_found"),
        (.rideAlreadyEnded, 409, "ride_already_ended"),
        (.promoCodeExists, 409, "promo_code_exists"),
        (.promoCodeNotFound, 404, "promo_code_not_found"),
    ]

    @Test func eachErrorHasItsCodeAndReason() {
        for (error, code, reason) in Self.pinned {
            #expect(error.rpcError.code == code, "\(error)")
            #expect(error.rpcError.data?.reason == reason, "\(error)")
            #expect(error.rpcError.data?.retryable == false, "\(error)")
        }
    }

    /// A retried start of a cancelled ride meets the fault the first attempt ended with (so the
    /// same code and reason), whatever the tombstone recorded.
    @Test func aTombstoneAnswersWithTheFaultItRecords() {
        for fault in [RidesError.activeRideExists, .vehicleUnavailable] {
            #expect(RidesError.cancelledStart(reason: fault.tombstoneReason) == fault)
        }
        #expect(RidesError.cancelledStart(reason: "unheard_of") == .vehicleUnavailable)
    }
}
