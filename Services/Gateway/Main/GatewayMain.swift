import MovRGateway
import MovRService

@main
struct GatewayMain {
    static func main() {
        ServiceMain.main(GatewayService.self)
    }
}
