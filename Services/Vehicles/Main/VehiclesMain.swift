import MovRService
import MovRVehicles

@main
struct VehiclesMain {
    static func main() {
        ServiceMain.main(VehiclesService.self)
    }
}
