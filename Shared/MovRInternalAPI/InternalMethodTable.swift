import MovRAPI
import MovRRPC

/// The services that answer internal calls.
public enum InternalService: String, CaseIterable, Sendable {
    case vehicles
    case users
    case rides
}

extension InternalMethod {
    /// One internal method of one service, the params type that service registers for it and
    /// who may call it.
    public struct Entry: Sendable {
        public let service: InternalService
        public let name: String
        public let paramsType: any (Decodable & Sendable).Type
        /// The identities (from their certificates) allowed to call; `nil` lets anyone who got
        /// through the mutual TLS handshake call (`system.ping`, the readiness check).
        public let allowedCallers: Set<ServiceIdentity>?

        init(_ service: InternalService, _ name: String, _ paramsType: any (Decodable & Sendable).Type,
             _ allowedCallers: Set<ServiceIdentity>?) {
            self.service = service
            self.name = name
            self.paramsType = paramsType
            self.allowedCallers = allowedCallers
        }
    }

    /// Every internal method each service registers, with its params type and its allow list:
    /// the one table the services register from (``RPCDispatcher/register(_:of:params:_:)``), and
    /// that their dispatcher tests, the params decoding tests and the fuzzer (Fuzz/) iterate, so a
    /// new internal method is checked everywhere as soon as it is added here. `system.ping` is
    /// listed once per service (each answers it).
    public static var table: [Entry] {
        typealias V = Vehicles
        typealias U = Users
        typealias R = Rides
        let ping = InternalService.allCases.map { Entry($0, InternalMethod.ping, RPCEmptyParams.self, nil) }
        return ping + [
            Entry(.vehicles, V.list, InternalVehiclesListParams.self, [.gateway]),
            Entry(.vehicles, V.get, VehiclesGetParams.self, [.gateway, .rides]),
            Entry(.vehicles, V.owned, InternalVehiclesOwnedParams.self, [.gateway]),
            Entry(.vehicles, V.add, InternalVehiclesAddParams.self, [.gateway]),
            Entry(.vehicles, V.remove, InternalVehiclesRemoveParams.self, [.gateway]),
            Entry(.vehicles, V.locationHistory, InternalLocationHistoryParams.self, [.gateway]),
            Entry(.vehicles, V.reserve, ReserveVehicleParams.self, [.rides]),
            Entry(.vehicles, V.release, ReleaseVehicleParams.self, [.rides]),
            Entry(.vehicles, V.recordLocation, RecordVehicleLocationParams.self, [.rides]),
            Entry(.vehicles, V.listInUse, VehiclesInUseParams.self, [.rides, .operator]),
            Entry(.users, U.register, InternalRegisterParams.self, [.gateway]),
            Entry(.users, U.login, InternalLoginParams.self, [.gateway]),
            Entry(.users, U.logout, SessionTokenParams.self, [.gateway]),
            Entry(.users, U.session, SessionTokenParams.self, [.gateway]),
            Entry(.users, U.sessions, SessionTokensParams.self, [.gateway]),
            Entry(.users, U.get, UserIDParams.self, [.gateway, .operator]),
            Entry(.users, U.delete, UserIDParams.self, [.gateway]),
            Entry(.users, U.grantRole, GrantRoleParams.self, [.operator]),
            Entry(.rides, R.start, InternalRidesStartParams.self, [.gateway]),
            Entry(.rides, R.end, InternalRidesEndParams.self, [.gateway]),
            Entry(.rides, R.updateLocation, InternalRidesUpdateLocationParams.self, [.gateway]),
            Entry(.rides, R.list, InternalRidesListParams.self, [.gateway]),
            Entry(.rides, R.get, InternalRidesGetParams.self, [.gateway]),
            Entry(.rides, R.activeForRider, RiderParams.self, [.users]),
            Entry(.rides, R.promoList, RPCEmptyParams.self, [.gateway]),
            Entry(.rides, R.promoCreate, InternalPromoCreateParams.self, [.gateway]),
            Entry(.rides, R.promoApply, InternalPromoApplyParams.self, [.gateway]),
            Entry(.rides, R.listActive, RPCEmptyParams.self, [.operator]),
        ]
    }

    /// The method names `service` registers, ping included.
    public static func names(of service: InternalService) -> Set<String> {
        Set(table.filter { $0.service == service }.map(\.name))
    }

    /// The table's entry for the method `name` of `service`, if it has one.
    public static func entry(_ name: String, of service: InternalService) -> Entry? {
        table.first { $0.service == service && $0.name == name }
    }

    /// The allow list of each of `service`'s methods that has one, as identity names (what
    /// ``RPCDispatcher/allowLists`` reports once the service registered them).
    public static func allowLists(of service: InternalService) -> [String: Set<String>] {
        var lists: [String: Set<String>] = [:]
        for entry in table where entry.service == service {
            if let callers = entry.allowedCallers { lists[entry.name] = Set(callers.map(\.rawValue)) }
        }
        return lists
    }
}
