import MovRGateway
import MovRInternalAPI
import MovRRides
import MovRService
import MovRUsers
import MovRVehicles

/// The settings each MovR executable accepts, for `movr up` (which passes each only its own)
/// and the check that docs/operations.md lists them all.
enum ExecutableSettings {
    static func accepted(by identity: ServiceIdentity) -> [SettingDeclaration] {
        switch identity {
        case .gateway: GatewayService.settings
        case .users: UsersService.settings
        case .vehicles: VehiclesService.settings
        case .rides: RidesService.settings
        case .operator: []
        }
    }
}
