import MovRCrypto
import MovRTool

@main
struct MovRMain {
    static func main() async {
        // Before anything else touches OpenSSL: no cleanup at exit (see OpenSSLLibrary).
        OpenSSLLibrary.initialize()
        await MovRCommand.main()
    }
}
