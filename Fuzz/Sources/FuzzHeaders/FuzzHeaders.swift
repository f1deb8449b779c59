import MovRRPC
import MovRRPCTransport
import MovRService

/// The parsers of header values a client controls, each fed the input as one header value:
/// `X-Forwarded-For` (``ClientAddress``), `Authorization` (``BearerToken``), `X-MovR-Min-LSN`
/// (``WALPosition``), `movr-cost` (``RequestCost``), `traceparent` / `X-Request-Id`
/// (``RequestTrace``). The deadline header is parsed inside the HTTP handler (FuzzHTTP).
/// Each value is accepted or refused, never a crash, and what is accepted keeps its invariants.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeaders(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)

    let trusted: TrustedProxies = ["10.0.0.9", "10.0.0.10", "::1"]
    for peer in ["10.0.0.9", "192.0.2.1"] {
        guard let client = ClientAddress.resolve(peer: peer, forwardedFor: text, trustedProxies: trusted) else {
            fatalError("an IP peer resolved to no client")
        }
        if !trusted.contains(peer), client != peer { fatalError("an untrusted peer's X-Forwarded-For was believed") }
        if client != peer, trusted.contains(client) || client.contains(",") {
            fatalError("resolved to a trusted proxy or a list: \(client.debugDescription)")
        }
    }

    if let token = BearerToken.parse(authorization: text) {
        guard (1...256).contains(token.utf8.count) else { fatalError("a bearer token of \(token.utf8.count) bytes") }
    }

    if let position = WALPosition(text), WALPosition(position.description) != position {
        fatalError("a WAL position does not round-trip: \(text.debugDescription)")
    }

    for entry in RequestCost.parse(text) {
        guard !entry.service.isEmpty, entry.service.count <= 64,
              (0...1_000_000).contains(entry.statements), (0...1_000_000).contains(entry.calls) else {
            fatalError("an out-of-range movr-cost entry: \(entry)")
        }
    }
    let cost = RequestCost(service: "gateway")
    cost.addCall(reply: text)
    _ = cost.headerValue

    for (traceparent, requestID) in [(text, nil), (nil, text)] as [(String?, String?)] {
        if let id = RequestTrace.requestID(traceparent: traceparent, requestIDHeader: requestID) {
            guard (1...64).contains(id.utf8.count), !id.utf8.contains(where: { $0 < 0x21 || $0 > 0x7E }) else {
                fatalError("an unsafe request id: \(id.debugDescription)")
            }
        }
    }
    return 0
}
