import MovRService
import MovRUsers

@main
struct UsersMain {
    static func main() async {
        await ServiceMain.run(UsersService.self)
    }
}
