import FoundationEssentials
import MovRAPI

/// Method names of the internal (service-to-service, mutual TLS) API. Who may call each is in
/// ``InternalMethod/table``; each service's dispatcher registers exactly those, with those allow
/// lists.
public enum InternalMethod {
    public enum Vehicles {
        public static let list = "vehicles.list"
        public static let get = "vehicles.get"
        /// Gateway only: one owner's vehicles (`vehicles.mine`).
        public static let owned = "vehicles.owned"
        public static let add = "vehicles.add"
        public static let remove = "vehicles.remove"
        public static let locationHistory = "vehicles.location_history"
        /// Rides only: hold the vehicle for a ride (idempotent per ride id).
        public static let reserve = "vehicles.reserve"
        /// Rides only: free the vehicle at the ride's end location (idempotent per ride id).
        public static let release = "vehicles.release"
        public static let recordLocation = "vehicles.record_location"
        /// Rides (reconciler) and operator (`movr check`): every vehicle currently held by a ride.
        public static let listInUse = "vehicles.list_in_use"
    }

    public enum Users {
        public static let register = "users.register"
        public static let login = "auth.login"
        public static let logout = "auth.logout"
        /// Gateway: resolve a bearer token to its user.
        public static let session = "auth.session"
        /// Gateway: resolve several bearer tokens at once (the checks that queued while one was
        /// in flight).
        public static let sessions = "auth.sessions"
        public static let get = "users.get"
        public static let delete = "users.delete"
        /// Operator: grant a role (e.g. admin).
        public static let grantRole = "users.grant_role"
    }

    public enum Rides {
        public static let start = "rides.start"
        public static let end = "rides.end"
        public static let updateLocation = "rides.update_location"
        public static let list = "rides.list"
        public static let get = "rides.get"
        /// Users: whether a rider has an active ride (soft delete is refused during one).
        public static let activeForRider = "rides.active_for_rider"
        public static let promoList = "promo_codes.list"
        public static let promoCreate = "promo_codes.create"
        public static let promoApply = "promo_codes.apply"
        /// Operator (`movr check`): active rides and their vehicles.
        public static let listActive = "rides.list_active"
    }

    /// Every service answers this for readiness checks by its callers.
    public static let ping = "system.ping"
}
