import MovRRPC

/// The strict JSON parser on arbitrary bytes: it either refuses the input or accepts a value
/// that serializes and parses back to itself; never a crash, a hang or unbounded memory.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: count)
    guard let value = try? JSONValue.parse(bytes) else { return 0 }
    let text = value.serialized()
    guard let again = try? JSONValue.parse(text), again == value else {
        fatalError("round trip changed an accepted document")
    }
    // The forwarding path: a reply envelope around the accepted value must scan back to it.
    var envelope = Array(#"{"jsonrpc":"2.0","result":"#.utf8)
    envelope += text
    envelope += Array(#","id":1}"#.utf8)
    switch try? RPCResponseDecoder.decodeRaw(body: .init(bytes: envelope)) {
    case .success(let raw)?:
        guard (try? raw.parsed()) == value else { fatalError("forwarded result differs from the parsed one") }
    default:
        fatalError("a valid result was refused by the forwarding scanner")
    }
    return 0
}
