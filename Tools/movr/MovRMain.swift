import MovRTool

#if canImport(Glibc)
import Glibc
#endif

@main
struct MovRMain {
    static func main() async {
        // Progress lines must reach a log file or pipe as they happen, not at exit.
        setvbuf(stdout, nil, _IOLBF, 0)
        await MovRCommand.main()
    }
}
