import MovRAPI
import MovRRPC

/// The services that answer internal calls.
public enum InternalService: String, CaseIterable, Sendable {
    case vehicles
    case users
    case rides
}

extension InternalMethod {
    /// One internal method of one service and the params type that service registers for it.
    public struct Entry: Sendable {
        public let service: InternalService
        public let name: String
        public let paramsType: any (Decodable & Sendable).Type

        init(_ service: InternalService, _ name: String, _ paramsType: any (Decodable & Sendable).Type) {
            self.service = service
            self.name = name
            self.paramsType = paramsType
        }
    }

    /// Every internal method each service registers, with its params type: the one table the
    /// services' dispatcher tests, the params decoding tests and the fuzzer (Fuzz/) iterate, so a
    /// new internal method is checked everywhere as soon as it is added here. `system.ping` is
    /// listed once per service (each answers it).
    public static var table: [Entry] {
        typealias V = Vehicles
        typealias U = Users
        typealias R = Rides
        let ping = InternalService.allCases.map { Entry($0, InternalMethod.ping, RPCEmptyParams.self) }
        return ping + [
            Entry(.vehicles, V.list, InternalVehiclesListParams.self),
            Entry(.vehicles, V.get, VehiclesGetParams.self),
            Entry(.vehicles, V.owned, InternalVehiclesOwnedParams.self),
            Entry(.vehicles, V.add, InternalVehiclesAddParams.self),
            Entry(.vehicles, V.remove, InternalVehiclesRemoveParams.self),
            Entry(.vehicles, V.locationHistory, InternalLocationHistoryParams.self),
            Entry(.vehicles, V.reserve, ReserveVehicleParams.self),
            Entry(.vehicles, V.release, ReleaseVehicleParams.self),
            Entry(.vehicles, V.recordLocation, RecordVehicleLocationParams.self),
            Entry(.vehicles, V.listInUse, VehiclesInUseParams.self),
            Entry(.users, U.register, InternalRegisterParams.self),
            Entry(.users, U.login, InternalLoginParams.self),
            Entry(.users, U.logout, SessionTokenParams.self),
            Entry(.users, U.session, SessionTokenParams.self),
            Entry(.users, U.get, UserIDParams.self),
            Entry(.users, U.delete, UserIDParams.self),
            Entry(.users, U.grantRole, GrantRoleParams.self),
            Entry(.rides, R.start, InternalRidesStartParams.self),
            Entry(.rides, R.end, InternalRidesEndParams.self),
            Entry(.rides, R.updateLocation, InternalRidesUpdateLocationParams.self),
            Entry(.rides, R.list, InternalRidesListParams.self),
            Entry(.rides, R.get, InternalRidesGetParams.self),
            Entry(.rides, R.activeForRider, RiderParams.self),
            Entry(.rides, R.promoList, RPCEmptyParams.self),
            Entry(.rides, R.promoCreate, InternalPromoCreateParams.self),
            Entry(.rides, R.promoApply, InternalPromoApplyParams.self),
            Entry(.rides, R.listActive, RPCEmptyParams.self),
        ]
    }

    /// The method names `service` registers, ping included.
    public static func names(of service: InternalService) -> Set<String> {
        Set(table.filter { $0.service == service }.map(\.name))
    }
}
