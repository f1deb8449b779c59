/// Every method of the public JSON-RPC API served by the gateway at `POST /rpc`.
public enum PublicMethod: String, CaseIterable, Sendable {
    case citiesList = "cities.list"
    case usersRegister = "users.register"
    case authLogin = "auth.login"
    case authLogout = "auth.logout"
    case usersMe = "users.me"
    case usersDelete = "users.delete"
    case vehiclesList = "vehicles.list"
    case vehiclesGet = "vehicles.get"
    case vehiclesMine = "vehicles.mine"
    case vehiclesAdd = "vehicles.add"
    case vehiclesRemove = "vehicles.remove"
    case vehiclesLocationHistory = "vehicles.location_history"
    case ridesStart = "rides.start"
    case ridesUpdateLocation = "rides.update_location"
    case ridesEnd = "rides.end"
    case ridesList = "rides.list"
    case ridesGet = "rides.get"
    case promoCodesList = "promo_codes.list"
    case promoCodesCreate = "promo_codes.create"
    case promoCodesApply = "promo_codes.apply"

    /// Who may call a method; the gateway establishes it, for every method the same way, after
    /// the params decoded and validated and before any other work.
    public enum Access: Sendable {
        /// Anyone (a token, when sent, is not checked).
        case anyone
        /// A bearer token must be sent; the method itself decides what it means (`auth.logout`
        /// ends the session it names, whether or not it is still valid).
        case bearerToken
        /// A valid session (`401` otherwise).
        case signedIn
        /// A valid session of an administrator (`403 admin_required` otherwise).
        case admin
    }

    public var access: Access {
        switch self {
        case .citiesList, .usersRegister, .authLogin, .vehiclesList, .vehiclesGet, .promoCodesList:
            .anyone
        case .authLogout:
            .bearerToken
        case .usersMe, .usersDelete, .vehiclesMine, .vehiclesAdd, .vehiclesRemove, .vehiclesLocationHistory,
             .ridesStart, .ridesUpdateLocation, .ridesEnd, .ridesList, .ridesGet, .promoCodesApply:
            .signedIn
        case .promoCodesCreate:
            .admin
        }
    }

    /// Whether the call needs `Authorization: Bearer <token>`.
    public var requiresAuth: Bool {
        if case .anyone = access { false } else { true }
    }

    /// Whether only an administrator may call it (implies `requiresAuth`).
    public var requiresAdmin: Bool {
        if case .admin = access { true } else { false }
    }

    /// The params type a request for this method decodes into.
    public var paramsType: any APIParams.Type {
        switch self {
        case .citiesList, .authLogout, .usersMe, .usersDelete, .promoCodesList: EmptyObject.self
        case .usersRegister: UsersRegisterParams.self
        case .authLogin: AuthLoginParams.self
        case .vehiclesList: VehiclesListParams.self
        case .vehiclesGet: VehiclesGetParams.self
        case .vehiclesMine: VehiclesMineParams.self
        case .vehiclesAdd: VehiclesAddParams.self
        case .vehiclesRemove: VehiclesRemoveParams.self
        case .vehiclesLocationHistory: LocationHistoryParams.self
        case .ridesStart: RidesStartParams.self
        case .ridesUpdateLocation: RidesUpdateLocationParams.self
        case .ridesEnd: RidesEndParams.self
        case .ridesList: RidesListParams.self
        case .ridesGet: RidesGetParams.self
        case .promoCodesCreate: PromoCodesCreateParams.self
        case .promoCodesApply: PromoCodesApplyParams.self
        }
    }
}
