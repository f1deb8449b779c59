import MovRGateway
import MovRService

@main
struct GatewayMain {
    static func main() async {
        await ServiceMain.run(GatewayService.self)
    }
}
