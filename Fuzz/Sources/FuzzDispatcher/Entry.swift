import FuzzSupport

@_cdecl("FuzzDispatcher_main")
public func fuzzDispatcherMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv) { data, size in data.map { fuzzDispatcher($0, size) } ?? 0 }
}
