import FuzzSupport

@_cdecl("FuzzLocation_main")
public func fuzzLocationMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in data.map { fuzzLocation($0, size) } ?? 0 }
}
