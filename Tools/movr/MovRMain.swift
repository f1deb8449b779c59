import MovRTool

@main
struct MovRMain {
    static func main() async {
        await MovRCommand.main()
    }
}
