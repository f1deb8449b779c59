import MovRRPC
import MovRTLS
import NIOCore
import Synchronization

/// One HTTP exchange handed to a client connection: the request bytes and where the answer goes.
struct ClientExchange: Sendable {
    /// The whole request, head and body (``HTTPClientWire``).
    var request: ByteBuffer
    var waiter: ReplyWaiter
    /// A reply body beyond this fails the exchange while it is read.
    var maxReplyBytes: Int
    /// When the caller stops waiting: the exchange fails with ``ClientTransportError/timedOut``
    /// and the connection closes (its reply would be stray).
    var deadline: NIODeadline
}

/// Where one exchange's outcome goes: the calling task, resumed once. The connection's handler
/// completes it on the loop; the caller's cancellation handler may fail it from any thread; the
/// first completion wins and later ones are ignored. One object per call, where an
/// `EventLoopPromise` awaited with `get()` made a future and a callback besides.
final class ReplyWaiter: Sendable {
    private enum State {
        /// Nobody waits yet and nothing arrived.
        case idle
        case waiting(UnsafeContinuation<ClientReply, any Error>)
        /// Arrived before the caller waited.
        case arrived(Result<ClientReply, any Error>)
        case finished
    }

    private let state = Mutex(State.idle)

    init() {}

    /// The outcome, when it comes (at once if it already has).
    func wait() async throws -> ClientReply {
        try await withUnsafeThrowingContinuation { continuation in
            let arrived = state.withLock { state -> Result<ClientReply, any Error>? in
                switch state {
                case .idle:
                    state = .waiting(continuation)
                    return nil
                case .arrived(let result):
                    state = .finished
                    return result
                case .waiting, .finished:
                    preconditionFailure("a reply is awaited once")
                }
            }
            if let arrived { continuation.resume(with: arrived) }
        }
    }

    /// Whether the caller is waiting now (tests use it to order a completion after the wait).
    var isAwaited: Bool {
        state.withLock { state in
            if case .waiting = state { true } else { false }
        }
    }

    func succeed(_ reply: ClientReply) { complete(.success(reply)) }

    func fail(_ error: any Error) { complete(.failure(error)) }

    private func complete(_ result: Result<ClientReply, any Error>) {
        let waiting = state.withLock { state -> UnsafeContinuation<ClientReply, any Error>? in
            switch state {
            case .idle:
                state = .arrived(result)
                return nil
            case .waiting(let continuation):
                state = .finished
                return continuation
            case .arrived, .finished:
                return nil
            }
        }
        waiting?.resume(with: result)
    }
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
    /// The TLS handshake did not finish within the connect timeout; the connection is closed.
    case handshakeTimedOut
}

/// Writes one ``ClientExchange`` at a time and reads its reply into a ``ClientReply``
/// (``HTTPClientWire``). Confined to its channel's event loop.
final class RPCClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ClientExchange
    typealias OutboundOut = ByteBuffer

    private var pending: ReplyWaiter?
    /// Completed when the TLS handshake finishes (or fails): the pool counts a connection as
    /// being opened until then, since the handshake is what opening one costs.
    private let handshake: EventLoopPromise<Void>
    private var maxReplyBytes = 0
    private var parser = HTTPClientWire.ReplyParser()
    /// The pending exchange's deadline.
    private var timer = ConnectionTimer(step: .seconds(5))

    init(handshake: EventLoopPromise<Void>) {
        self.handshake = handshake
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSEvent { handshake.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard pending == nil else {
            exchange.waiter.fail(ClientTransportError.busy)
            promise?.fail(ClientTransportError.busy)
            return
        }
        pending = exchange.waiter
        maxReplyBytes = exchange.maxReplyBytes
        parser = HTTPClientWire.ReplyParser()
        timer.set(exchange.deadline, on: context.eventLoop, fire: { self.timerFired(context: context) })
        context.write(wrapOutboundOut(exchange.request), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard pending != nil else {
            // Nothing was asked: a server that talks out of turn cannot be trusted with the next.
            context.close(promise: nil)
            return
        }
        do {
            guard let reply = try parser.feed(&bytes, maxBodyBytes: maxReplyBytes) else { return }
            timer.clear()
            let waiter = pending
            pending = nil
            waiter?.succeed(reply)
        } catch {
            // Refused while reading: a runaway or malformed reply never sits whole in memory,
            // and the connection's next bytes could not be trusted.
            failPending(error)
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer.cancel()
    }

    private func timerFired(context: ChannelHandlerContext) {
        guard timer.fired(on: context.eventLoop, fire: { self.timerFired(context: context) }), pending != nil else { return }
        failPending(ClientTransportError.timedOut)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(ClientTransportError.connectionClosed)
        failPending(ClientTransportError.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handshake.fail(error)
        failPending(error)
        context.close(promise: nil)
    }

    private func failPending(_ error: any Error) {
        let waiter = pending
        pending = nil
        timer.clear()
        waiter?.fail(error)
    }
}
