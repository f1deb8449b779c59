import MovRRides
import MovRService

@main
struct RidesMain {
    static func main() {
        ServiceMain.main(RidesService.self)
    }
}
