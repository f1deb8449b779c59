import MovRRPC
import MovRTLS
import NIOCore
import NIOHTTP1

/// One HTTP exchange handed to a client connection: the request bytes and where the answer goes.
struct ClientExchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer
    var promise: EventLoopPromise<ClientReply>
    /// A reply body beyond this fails the exchange while it is read.
    var maxReplyBytes: Int
    /// When the caller stops waiting: the exchange fails with ``ClientTransportError/timedOut``
    /// and the connection closes (its reply would be stray).
    var deadline: NIODeadline
}

/// The answer to one exchange.
struct ClientReply: Sendable {
    var status: Int
    var body: ByteBuffer
    /// False when the server asked to close the connection after this reply.
    var reusable: Bool
    /// The callee's `movr-cost` header, when the call asked for one.
    var cost: String? = nil
    /// `X-MovR-LSN`: the WAL position after the write this reply answers.
    var lsn: String? = nil
    /// `Server-Timing` entries, joined.
    var serverTiming: String? = nil
}

/// Why an exchange failed below the JSON-RPC layer.
enum ClientTransportError: Error, Equatable {
    /// The connection ended before a complete reply; the request may have been processed.
    case connectionClosed
    /// A second exchange on a busy connection (a pool bug, never expected).
    case busy
    /// The reply body exceeded the client's limit; the connection is closed.
    case replyTooLarge
    /// The exchange's deadline passed before its reply; the connection is closed.
    case timedOut
}

/// Turns one ``ClientExchange`` at a time into HTTP parts and the reply parts back into a
/// ``ClientReply``. Confined to its channel's event loop.
final class RPCClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = ClientExchange
    typealias OutboundOut = HTTPClientRequestPart

    private var pending: EventLoopPromise<ClientReply>?
    private var maxReplyBytes = 0
    private var status = 0
    private var reusable = true
    private var body: ByteBuffer?
    private var cost: String?
    private var lsn: String?
    private var serverTiming: String?
    /// The pending exchange's deadline.
    private var timer = ConnectionTimer(step: .seconds(5))

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard pending == nil else {
            exchange.promise.fail(ClientTransportError.busy)
            promise?.fail(ClientTransportError.busy)
            return
        }
        pending = exchange.promise
        maxReplyBytes = exchange.maxReplyBytes
        timer.set(exchange.deadline, on: context.eventLoop) { self.timerFired(context: context) }
        body = nil
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if exchange.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(exchange.body))), promise: nil)
        }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            reusable = head.isKeepAlive
            cost = head.headers.first(name: RequestCost.header)
            lsn = head.headers.first(name: RPCHeader.lsn)
            let timings = head.headers[canonicalForm: "server-timing"]
            serverTiming = timings.isEmpty ? nil : timings.joined(separator: ", ")
            body = nil
        case .body(var part):
            if (body?.readableBytes ?? 0) + part.readableBytes > maxReplyBytes {
                // Refuse while reading: a runaway reply never sits whole in memory.
                failPending(ClientTransportError.replyTooLarge)
                context.close(promise: nil)
                return
            }
            if body == nil {
                body = part  // the common single-part reply: no copy
            } else {
                body?.writeBuffer(&part)
            }
        case .end:
            guard pending != nil else { return }
            let reply = ClientReply(status: status, body: body ?? ByteBuffer(), reusable: reusable, cost: cost, lsn: lsn,
                                    serverTiming: serverTiming)
            body = nil
            timer.clear()
            let promise = pending
            pending = nil
            promise?.succeed(reply)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
    }

    private func timerFired(context: ChannelHandlerContext) {
        guard timer.fired(on: context.eventLoop, { self.timerFired(context: context) }), pending != nil else { return }
        failPending(ClientTransportError.timedOut)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failPending(ClientTransportError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failPending(error)
        context.close(promise: nil)
    }

    private func failPending(_ error: any Error) {
        let promise = pending
        pending = nil
        timer.clear()
        promise?.fail(error)
    }
}
