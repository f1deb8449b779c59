import Logging
import Metrics
import MovRRPC
import MovRTLS
import NIOCore
import NIOHTTP1

/// One connection's HTTP state machine: reads a request within the limits, routes it, writes the
/// answer as one buffer (head and body). Confined to its channel's event loop. Requests are
/// answered one at a time and in order: the parts of requests a client pipelines behind the
/// one in flight wait in a bounded queue, and past its bound the connection stops reading
/// until the queue drains. A request the decoder cannot parse is answered 400 and the
/// connection closed.
final class RPCHTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Pipelined parts held while a request is handled; beyond either bound, reading pauses.
    static let maxQueuedParts = 64
    static let maxQueuedBodyBytes = 64 * 1024

    private enum Route {
        case rpc
        case healthz
        case readyz
        case metrics
        case staticContent(String)
        case rejected(HTTPPlainResponse, extraHeaders: [(String, String)])
    }

    private enum State {
        case idle
        case reading(HTTPRequestHead, Route, ByteBuffer, startedAt: ContinuousClock.Instant)
        case handling(HTTPRequestHead, keepAlive: Bool)
        case closing
    }

    /// What happens when the connection's deadline passes.
    private enum Expiry {
        /// A request that does not arrive in time, or an idle keep-alive: close.
        case close
        /// The caller of the request in flight stops waiting: cancel its handler (504).
        case cancelHandler
    }

    private let environment: ConnectionEnvironment
    private var state = State.idle
    private var quiescing = false
    /// The connection's one deadline (read, handling or idle) and what its passing does.
    private var timer: ConnectionTimer
    private var expiry = Expiry.close
    /// Runs this connection's JSON-RPC calls in one task on its event loop; made on first use.
    /// The call in flight is cancelled when the client goes away or the caller's deadline passes.
    private var calls: CallRunner?
    /// The connection's peer: its service name from the mTLS certificate (when the listener
    /// identifies callers) and its IP address, looked up at the first request and kept, as
    /// neither changes while the connection lives.
    private var caller: String?
    private var peerAddress: String?
    /// Parts of pipelined requests that arrived while one was handled, in order.
    private var queued = CircularBuffer<HTTPServerRequestPart>()
    private var queuedBodyBytes = 0
    /// A `read()` held back while the queue is full.
    private var readHeld = false
    private var draining = false

    init(environment: ConnectionEnvironment) {
        self.environment = environment
        let configuration = environment.configuration
        timer = ConnectionTimer(step: min(configuration.requestReadTimeout, configuration.idleTimeout))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armTimer(context: context, after: environment.configuration.requestReadTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
        endCalls()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Nobody will read the answer: stop the work (outgoing calls and waits end at once).
        endCalls()
        context.fireChannelInactive()
    }

    /// The connection is gone: the call in flight is cancelled and the runner's task ends.
    private func endCalls() {
        calls?.close()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch state {
        case .closing:
            return  // the connection closes after the answer in flight; nothing more is read
        case .handling:
            enqueue(part)
        case .idle, .reading:
            if queued.isEmpty { receive(part, context: context) } else { enqueue(part) }
        }
    }

    private func receive(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            receiveHead(head, context: context)
        case .body(var part):
            receiveBody(&part, context: context)
        case .end:
            receiveEnd(context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is QuiesceEvent {
            quiescing = true
            if case .idle = state { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS failures and protocol errors end this connection only, never the server.
        environment.logger.debug("connection error", metadata: ["error": "\(error)"])
        guard error is HTTPParserError else {
            state = .closing
            context.close(promise: nil)
            return
        }
        // Bytes the decoder could not parse: nothing after them can be framed.
        queued.removeAll()
        queuedBodyBytes = 0
        switch state {
        case .idle, .reading:
            // No answer started: say why, then close.
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
            state = .handling(head, keepAlive: false)
            respond(context: context, head: head,
                    HTTPPlainResponse(status: 400, json: #"{"error":"malformed HTTP request"}"#), keepAlive: false)
        case .handling:
            // The request in flight is answered, with `connection: close`, and that is the end.
            quiescing = true
        case .closing:
            break
        }
    }

    // MARK: Pipelined requests

    func read(context: ChannelHandlerContext) {
        if queued.count >= Self.maxQueuedParts || queuedBodyBytes >= Self.maxQueuedBodyBytes {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func enqueue(_ part: HTTPServerRequestPart) {
        if case .body(let bytes) = part { queuedBodyBytes += bytes.readableBytes }
        queued.append(part)
    }

    /// After an answer on a kept-alive connection: handles queued parts until one request is in
    /// flight again or the queue is empty, then lets reading resume if it was held.
    private func drainQueue(context: ChannelHandlerContext) {
        guard !draining else { return }
        draining = true
        defer { draining = false }
        while let part = queued.first {
            if case .handling = state { break }
            if case .closing = state { break }
            queued.removeFirst()
            if case .body(let bytes) = part { queuedBodyBytes -= bytes.readableBytes }
            receive(part, context: context)
        }
        resumeReadingIfHeld(context: context)
    }

    private func resumeReadingIfHeld(context: ChannelHandlerContext) {
        guard readHeld, queued.count < Self.maxQueuedParts, queuedBodyBytes < Self.maxQueuedBodyBytes else { return }
        readHeld = false
        context.read()
    }

    // MARK: Reading

    private func receiveHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        armTimer(context: context, after: environment.configuration.requestReadTimeout)
        let limits = environment.configuration.limits
        // The path without the query; the URI itself when there is none (no array, no copy).
        // Searched as bytes: a `Character` search costs more than the rest of the routing.
        let path = head.uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(head.uri[..<$0]) } ?? head.uri
        let declaredLength = head.headers.first(name: "content-length").flatMap { Int($0) }
        if let declaredLength, declaredLength > limits.maxBodyBytes {
            // Answer before reading a body we will not accept, then drop the connection.
            state = .handling(head, keepAlive: false)
            respond(context: context, head: head,
                    HTTPPlainResponse(status: 413, json: #"{"error":"request body too large"}"#),
                    keepAlive: false)
            return
        }
        let route = self.route(head: head, path: path)
        let capacity = min(declaredLength ?? 0, limits.maxBodyBytes)
        state = .reading(head, route, context.channel.allocator.buffer(capacity: capacity), startedAt: .now)
    }

    private func route(head: HTTPRequestHead, path: String) -> Route {
        if path == "/rpc" {
            guard head.method == .POST else {
                return .rejected(HTTPPlainResponse(status: 405, json: #"{"error":"use POST for /rpc"}"#),
                                 extraHeaders: [("allow", "POST")])
            }
            guard Self.isJSON(contentType: head.headers.first(name: "content-type") ?? "") else {
                return .rejected(HTTPPlainResponse(status: 415, json: #"{"error":"content type must be application/json"}"#),
                                 extraHeaders: [])
            }
            return .rpc
        }
        guard head.method == .GET || head.method == .HEAD else {
            return .rejected(HTTPPlainResponse(status: 405, json: #"{"error":"method not allowed"}"#),
                             extraHeaders: [("allow", "GET, HEAD")])
        }
        switch path {
        case "/healthz": return .healthz
        case "/readyz": return .readyz
        case "/metrics": return .metrics
        default: return .staticContent(path)
        }
    }

    /// `name` in lower case; the name itself (no copy) when it already is, as clients mostly send.
    static func lowercased(_ name: String) -> String {
        name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) ? name.lowercased() : name
    }

    /// Whether a Content-Type value names `application/json` (any case, parameters and
    /// surrounding blanks ignored).
    static func isJSON(contentType: String) -> Bool {
        // What clients send nearly always: one comparison of the bytes.
        if contentType.utf8.elementsEqual("application/json".utf8) { return true }
        return contentType.utf8.withContiguousStorageIfAvailable(isJSON(mediaType:))
            ?? Array(contentType.utf8).withUnsafeBufferPointer(isJSON(mediaType:))
    }

    /// `isJSON(contentType:)` on the value's UTF-8, indexed directly (the generic slices of a
    /// `String.UTF8View` were about 1 % of a gateway's profile samples under load).
    private static func isJSON(mediaType value: UnsafeBufferPointer<UInt8>) -> Bool {
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var start = 0
        var end = value.firstIndex(of: UInt8(ascii: ";")) ?? value.count
        while start < end, isBlank(value[start]) { start += 1 }
        while end > start, isBlank(value[end - 1]) { end -= 1 }
        let expected: StaticString = "application/json"
        guard end - start == expected.utf8CodeUnitCount else { return false }
        for offset in 0..<expected.utf8CodeUnitCount {
            let byte = value[start + offset]
            let wanted = expected.utf8Start[offset]
            // ASCII letters compare without case (0x20 is the case bit); the other bytes must match.
            guard byte == wanted || (byte | 0x20) == wanted && wanted >= UInt8(ascii: "a") && wanted <= UInt8(ascii: "z") else {
                return false
            }
        }
        return true
    }

    private func receiveBody(_ part: inout ByteBuffer, context: ChannelHandlerContext) {
        guard case .reading(let head, let route, var body, let startedAt) = state else { return }
        let limit = environment.configuration.limits.maxBodyBytes
        guard body.readableBytes + part.readableBytes <= limit else {
            state = .handling(head, keepAlive: false)
            respond(context: context, head: head,
                    HTTPPlainResponse(status: 413, json: #"{"error":"request body too large"}"#),
                    keepAlive: false)
            return
        }
        // Drop the state's reference first so `body` stays uniquely owned while appending.
        // Bodies of routes other than /rpc are held too, within the same limit, and ignored.
        state = .closing
        body.writeBuffer(&part)
        state = .reading(head, route, body, startedAt: startedAt)
    }

    private func receiveEnd(context: ChannelHandlerContext) {
        guard case .reading(let head, let route, let body, let startedAt) = state else { return }
        timer.clear()
        let keepAlive = head.isKeepAlive && !quiescing
        state = .handling(head, keepAlive: keepAlive)
        switch route {
        case .rpc:
            dispatch(body: body, head: head, keepAlive: keepAlive, startedAt: startedAt, context: context)
        case .healthz:
            respond(context: context, head: head, HTTPPlainResponse(status: 200, json: #"{"status":"ok"}"#),
                    keepAlive: keepAlive)
        case .readyz:
            let readiness = environment.readiness
            let promise = context.eventLoop.makePromise(of: Bool.self)
            promise.completeWithTask { await readiness.check() }
            promise.futureResult.assumeIsolated().whenSuccess { ready in
                self.respond(context: context, head: head,
                             ready ? HTTPPlainResponse(status: 200, json: #"{"status":"ready"}"#)
                                   : HTTPPlainResponse(status: 503, json: #"{"status":"not_ready"}"#),
                             keepAlive: keepAlive)
            }
        case .metrics:
            if let metrics = environment.routes.metrics {
                respond(context: context, head: head,
                        HTTPPlainResponse(status: 200, contentType: "text/plain; version=0.0.4", body: Array(metrics().utf8)),
                        keepAlive: keepAlive)
            } else {
                respond(context: context, head: head, HTTPPlainResponse(status: 404, json: #"{"error":"not found"}"#),
                        keepAlive: keepAlive)
            }
        case .staticContent(let path):
            let answer = environment.routes.staticContent(path)
                ?? HTTPPlainResponse(status: 404, json: #"{"error":"not found"}"#)
            respond(context: context, head: head, answer, keepAlive: keepAlive)
        case .rejected(let answer, let extraHeaders):
            respond(context: context, head: head, answer, extraHeaders: extraHeaders, keepAlive: keepAlive)
        }
    }

    // MARK: Dispatching

    private func dispatch(body: ByteBuffer, head: HTTPRequestHead, keepAlive: Bool,
                          startedAt: ContinuousClock.Instant, context: ChannelHandlerContext) {
        let configuration = environment.configuration
        let requestID = RequestTrace.requestID(
            traceparent: head.headers.first(name: RPCHeader.traceparent),
            requestIDHeader: head.headers.first(name: RPCHeader.requestID)
        ) ?? RequestTrace.newRequestID()

        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(head.headers.count)
        for (name, value) in head.headers {
            fields.append((name: Self.lowercased(name), value: value))
        }
        let headers = RequestHeaders(fields)

        if configuration.identifiesCallers, caller == nil {
            caller = try? context.pipeline.syncOperations.handler(type: TLSHandler.self).peerIdentity?.serviceName
        }
        if peerAddress == nil { peerAddress = context.channel.remoteAddress?.ipAddress }

        var budget = configuration.defaultDeadline
        if let requested = head.headers.first(name: RPCHeader.deadline).flatMap({ Int64($0) }), requested > 0 {
            budget = min(.milliseconds(requested), configuration.maxDeadline)
        }
        let deadline = startedAt + budget

        var rpcContext = RPCContext(
            requestID: requestID, caller: caller, lowercasedHeaders: headers, deadline: deadline,
            logger: environment.logger)
        rpcContext.clientAddress = ClientAddress.resolve(peer: peerAddress,
                                                         forwardedFor: headers["x-forwarded-for"],
                                                         trustedProxies: configuration.trustedProxies)
        let servedBy = configuration.reportsServingRegions ? ServedRegions() : nil
        rpcContext.servedBy = servedBy
        let dispatcher = environment.dispatcher
        let loop = context.eventLoop
        let calls = self.calls ?? CallRunner(loop: loop)
        self.calls = calls
        // Round-trip accounting, only when the caller asks for it (docs/API.md, "Round trips").
        let cost = configuration.costName.flatMap { name in headers[RequestCost.header] != nil ? RequestCost(service: name) : nil }
        let replyHeaders = RPCResponseHeaders()
        // Called by the handler's task when the call ends; the task runs on this loop (its
        // executor), so the answer is written right there, with no promise or future per request.
        let answer = NIOLoopBound({ (reply: ByteBuffer?) in
            self.timer.clear()
            let status = reply == nil ? 204 : 200
            let elapsed = (ContinuousClock.now - startedAt).nanosecondsClamped
            // Written straight into the response: no header list, no joined strings.
            self.respond(context: context, head: head, status: status, contentType: "application/json",
                         body: reply ?? ByteBuffer(), keepAlive: keepAlive) { buffer in
                self.writeHeader(RPCHeader.requestID, requestID, into: &buffer)
                if let cost { self.writeHeader(RequestCost.header, cost.headerValue, into: &buffer) }
                servedBy?.withRegions { Self.writeServedRegions($0, into: &buffer) }
                replyHeaders.withContents { added, timings in
                    for (name, value) in added { self.writeHeader(name, value, into: &buffer) }
                    // One Server-Timing header: the gateway's total first, then each service call.
                    Self.writeServerTiming(totalNanoseconds: servedBy == nil ? nil : elapsed, calls: timings, into: &buffer)
                }
            }
            self.environment.metrics.rpcDuration(status: status).recordNanoseconds(elapsed)
        }, eventLoop: loop)
        // The handler runs on this connection's event loop (its task executor), so awaiting
        // replies of RPC connections on the same loop involves no thread hop.
        RequestsInFlight.begin()
        // (The runner's task has `RPCEventLoopPreference.current` set to this loop.)
        calls.submit { [rpcContext] in
            let reply = await RequestCost.$current.withValue(cost) {
                await RPCResponseHeaders.$current.withValue(replyHeaders) {
                    await dispatcher.handle(body: body, context: rpcContext)
                }
            }
            RequestsInFlight.end()
            // Always so, as the loop is the task's executor; the hop is only a safeguard.
            if loop.inEventLoop { answer.value(reply) } else { loop.execute { answer.value(reply) } }
        }
        // The caller stops waiting at its deadline: the handler is cancelled then and the
        // dispatcher answers 504.
        let remaining = deadline - .now
        setDeadline(.now() + .nanoseconds(max(0, remaining.nanosecondsClamped)), expiry: .cancelHandler, context: context)
    }

    // MARK: Writing

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, _ response: HTTPPlainResponse,
                         extraHeaders: [(String, String)] = [], keepAlive: Bool) {
        respond(context: context, head: head, status: response.status, contentType: response.contentType,
                body: context.channel.allocator.buffer(bytes: response.body), cacheControl: response.cacheControl,
                extraHeaders: response.headers + extraHeaders, keepAlive: keepAlive)
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, status: Int, contentType: String,
                         body: ByteBuffer, cacheControl: String = "no-store", extraHeaders: [(String, String)] = [],
                         keepAlive: Bool, writeHeaders: (inout ByteBuffer) -> Void = { _ in }) {
        let keepAlive = keepAlive && !quiescing
        let sendsBody = status != 204 && head.method != .HEAD
        let isHTTP10 = head.version.major == 1 && head.version.minor == 0
        var buffer = context.channel.allocator.buffer(capacity: 320 + (sendsBody ? body.readableBytes : 0))
        if isHTTP10 { buffer.writeStaticString("HTTP/1.0 ") } else { buffer.writeStaticString("HTTP/1.1 ") }
        JSONNumberWriting.writeInteger(status, to: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(HTTPResponseStatus(statusCode: status).reasonPhrase)
        buffer.writeStaticString("\r\n")
        writeHeader("content-type", contentType, into: &buffer)
        if status != 204 {
            // RFC 9110 §8.6: no Content-Length on a 204.
            HTTPWire.writeHeader("content-length", integer: body.readableBytes, into: &buffer)
        }
        writeHeader("cache-control", cacheControl, into: &buffer)
        buffer.writeImmutableBuffer(environment.responseHeaderLines)
        for (name, value) in extraHeaders { writeHeader(name, value, into: &buffer) }
        writeHeaders(&buffer)
        if !keepAlive {
            buffer.writeStaticString("connection: close\r\n")
        } else if isHTTP10 {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
        if sendsBody { buffer.writeImmutableBuffer(body) }
        environment.metrics.response(status: status).increment()

        if keepAlive {
            // Nothing waits for this write: no promise (a failed write closes the channel).
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            state = .idle
            armTimer(context: context, after: environment.configuration.idleTimeout)
            drainQueue(context: context)
        } else {
            let written = context.writeAndFlush(wrapOutboundOut(buffer))
            state = .closing
            queued.removeAll()
            queuedBodyBytes = 0
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// `server-timing: gateway;dur=<total ms>, <each call's entry>` — the total only when given
    /// (the public listener), the calls in the order their handlers added them
    /// (``RPCResponseHeaders/ServerTiming/write(into:)`` spells each); nothing when both are absent. The
    /// total has at most two decimals, spelled as `Double`'s description spells hundredths
    /// (`1.5`, `12.0`, `0.07`). An entry whose names would split the header (CR, LF, NUL) is
    /// left out.
    static func writeServerTiming(totalNanoseconds: Int64?, calls: [RPCResponseHeaders.ServerTiming],
                                  into buffer: inout ByteBuffer) {
        var first = true
        func separate(_ buffer: inout ByteBuffer) {
            if first { buffer.writeStaticString("server-timing: ") } else { buffer.writeStaticString(", ") }
            first = false
        }
        if let totalNanoseconds {
            separate(&buffer)
            let hundredths = max(0, totalNanoseconds) / 10_000
            buffer.writeStaticString("gateway;dur=")
            JSONNumberWriting.writeInteger(hundredths / 100, to: &buffer)
            let fraction = hundredths % 100
            buffer.writeInteger(UInt8(ascii: "."))
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(fraction / 10))
            if fraction % 10 != 0 { buffer.writeInteger(UInt8(ascii: "0") + UInt8(fraction % 10)) }
        }
        for call in calls where HTTPWire.isSendableValue(call.target) && HTTPWire.isSendableValue(call.method) {
            separate(&buffer)
            call.write(into: &buffer)
        }
        if !first { buffer.writeStaticString("\r\n") }
    }

    /// `x-movr-region: <regions, comma-separated>`, nothing when there are none; a region name
    /// that would split the header is left out.
    static func writeServedRegions(_ regions: [String], into buffer: inout ByteBuffer) {
        var first = true
        for region in regions where HTTPWire.isSendableValue(region) {
            if first {
                buffer.writeString(RPCHeader.servedByRegion)
                buffer.writeStaticString(": ")
            } else {
                buffer.writeInteger(UInt8(ascii: ","))
            }
            first = false
            buffer.writeString(region)
        }
        if !first { buffer.writeStaticString("\r\n") }
    }

    /// Headers come from MovR's own code and configuration; one that cannot be sent as it is
    /// (a value with CR or LF) is left out and logged rather than written.
    private func writeHeader(_ name: String, _ value: String, into buffer: inout ByteBuffer) {
        do {
            try HTTPWire.writeHeader(name, value, into: &buffer)
        } catch {
            environment.logger.error("response header left out", metadata: ["error": "\(error)"])
        }
    }

    /// A request that does not arrive in time (or an idle keep-alive) frees its slot.
    private func armTimer(context: ChannelHandlerContext, after delay: TimeAmount) {
        setDeadline(.now() + delay, expiry: .close, context: context)
    }

    private func setDeadline(_ deadline: NIODeadline, expiry: Expiry, context: ChannelHandlerContext) {
        self.expiry = expiry
        timer.set(deadline, on: context.eventLoop, fire: { self.timerFired(context: context) })
    }

    private func timerFired(context: ChannelHandlerContext) {
        guard timer.fired(on: context.eventLoop, fire: { self.timerFired(context: context) }) else { return }
        switch expiry {
        case .close: context.close(promise: nil)
        case .cancelHandler: calls?.cancelCall()
        }
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let nanos = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !nanos.overflow else { return .max }
        return nanos.partialValue + attoseconds / 1_000_000_000
    }
}
