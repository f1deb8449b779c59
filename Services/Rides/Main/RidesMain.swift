import MovRRides
import MovRService

@main
struct RidesMain {
    static func main() async {
        await ServiceMain.run(RidesService.self)
    }
}
