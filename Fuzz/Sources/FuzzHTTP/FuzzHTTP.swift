import FuzzSupport
import Logging
import MovRRPC
import MovRRPCTransport
import NIOCore
import NIOEmbedded

/// Arbitrary bytes as what a client sends on one connection (request heads, bodies, pipelined
/// requests, garbage), through the server's real HTTP pipeline — NIO's HTTP/1.1 decoder and
/// MovR's RPC handler (``RPCHTTPPipeline``: pipelined requests, protocol errors) with the public
/// dispatcher — without TLS, on an `EmbeddedChannel`. No crash or trap, and every response the
/// server writes is well-formed HTTP/1.1 whose body matches its `content-length`.
///
/// The peer is a trusted proxy, so `X-Forwarded-For` is resolved; `movr-cost`, the deadline
/// header and the region/timing reply headers are on, as on the gateway's public listener.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    var bytes = Array(UnsafeBufferPointer(start: data, count: count))
    // `/readyz` completes from a task off the event loop; the single-threaded EmbeddedEventLoop
    // cannot host that, so the path is spelled unrecognisably (it is covered by the tests).
    neutralizeReadyz(&bytes)
    let channel = EmbeddedChannel()
    channel.remoteAddress = FuzzHTTPServer.proxy
    do {
        try FuzzHTTPServer.pipeline.configure(channel)
    } catch {
        fatalError("the pipeline could not be configured: \(error)")
    }
    // Errors reaching the end of the pipeline are the client's problem, not a crash.
    _ = try? channel.writeInbound(channel.allocator.buffer(bytes: bytes))
    channel.embeddedEventLoop.run()
    var output: [ByteBuffer] = []
    do {
        while let part = try channel.readOutbound(as: ByteBuffer.self) { output.append(part) }
    } catch {
        fatalError("the server wrote something other than bytes: \(error)")
    }
    checkResponses(output)
    _ = try? channel.finish(acceptAlreadyClosed: true)
    return 0
}

enum FuzzHTTPServer {
    static let proxy = try! SocketAddress(ipAddress: "10.0.0.9", port: 4433)

    static let pipeline: RPCHTTPPipeline = {
        var configuration = RPCServerConfiguration()
        configuration.limits.maxBodyBytes = 2048
        configuration.trustedProxies = ["10.0.0.9", "10.0.0.10"]
        configuration.costName = "gateway"
        configuration.reportsServingRegions = true
        configuration.identifiesCallers = false
        configuration.responseHeaders = [("strict-transport-security", "max-age=63072000")]
        var routes = RPCServerRoutes()
        routes.staticContent = { path in
            path == "/" ? HTTPPlainResponse(status: 200, contentType: "text/html", body: Array("<p>movr</p>".utf8)) : nil
        }
        return RPCHTTPPipeline(configuration: configuration, dispatcher: FuzzDispatchers.publicAPI, routes: routes,
                               logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
    }()
}

func neutralizeReadyz(_ bytes: inout [UInt8]) {
    let needle = Array("readyz".utf8)
    guard bytes.count >= needle.count else { return }
    for start in 0...(bytes.count - needle.count) where bytes[start..<(start + needle.count)].elementsEqual(needle) {
        bytes[start + 5] = UInt8(ascii: "Z")
    }
}

/// Each write is one whole response, head and body (absent for `HEAD` requests and empty
/// bodies), as `RPCHTTPHandler` writes them.
func checkResponses(_ output: [ByteBuffer]) {
    let separator = Array("\r\n\r\n".utf8)
    for part in output where part.readableBytes > 0 {
        let bytes = Array(part.readableBytesView)
        guard bytes.starts(with: Array("HTTP/1.".utf8)),
              let end = (0...(bytes.count - separator.count)).first(where: { bytes[$0..<($0 + separator.count)].elementsEqual(separator) })
        else {
            fatalError("a write that is not a whole response: \(String(decoding: bytes.prefix(80), as: UTF8.self).debugDescription)")
        }
        let expected = checkHead(Array(bytes[..<(end + separator.count)]))
        let body = bytes.count - end - separator.count
        if body != 0, body != expected {
            fatalError("a response body of \(body) bytes declared content-length \(expected)")
        }
    }
}

/// Checks a response head; returns its content length.
func checkHead(_ bytes: [UInt8]) -> Int {
    guard bytes.count >= 16, bytes.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) else {
        fatalError("a response head does not end with an empty line")
    }
    let text = String(decoding: bytes.dropLast(4), as: UTF8.self)
    let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
    let status = lines[0].split(separator: " ", maxSplits: 2)
    guard status.count >= 2, status[0] == "HTTP/1.1" || status[0] == "HTTP/1.0",
          let code = Int(status[1]), (100...599).contains(code) else {
        fatalError("malformed status line: \(lines[0].debugDescription)")
    }
    var contentLength: Int?
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
              line[..<colon].utf8.allSatisfy(isTokenByte),
              line.utf8.allSatisfy({ $0 == UInt8(ascii: "\t") || ($0 >= 0x20 && $0 != 0x7F) }) else {
            fatalError("malformed header line: \(line.debugDescription)")
        }
        if line[..<colon].lowercased() == "content-length" {
            guard contentLength == nil, let value = Int(line[line.index(after: colon)...].drop(while: { $0 == " " })),
                  value >= 0 else {
                fatalError("bad or repeated content-length: \(line.debugDescription)")
            }
            contentLength = value
        }
    }
    // 1xx, 204 and 304 have no body by definition (RFC 9110 §6.4.1): a JSON-RPC notification
    // is answered 204 without content-length, and must carry no body.
    if (100...199).contains(code) || code == 204 || code == 304 {
        guard contentLength == nil || contentLength == 0 else {
            fatalError("a \(code) response announces a body: \(text.debugDescription)")
        }
        return 0
    }
    guard let contentLength else { fatalError("a response without content-length: \(text.debugDescription)") }
    return contentLength
}

func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        true
    default:
        Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
    }
}
