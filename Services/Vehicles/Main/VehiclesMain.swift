import MovRService
import MovRVehicles

@main
struct VehiclesMain {
    static func main() async {
        await ServiceMain.run(VehiclesService.self)
    }
}
