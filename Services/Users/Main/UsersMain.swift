import MovRService
import MovRUsers

@main
struct UsersMain {
    static func main() {
        ServiceMain.main(UsersService.self)
    }
}
