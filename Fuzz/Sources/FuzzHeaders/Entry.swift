import FuzzSupport

@_cdecl("FuzzHeaders_main")
public func fuzzHeadersMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in data.map { fuzzHeaders($0, size) } ?? 0 }
}
