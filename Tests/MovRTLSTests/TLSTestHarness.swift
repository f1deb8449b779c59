import MovRTLS
import MovRTestSupport
import NIOCore
import NIOPosix

/// What one end of a connection observed.
struct ConnectionOutcome: Sendable {
    var handshakeCompleted = false
    var peer: PeerIdentity?
    /// `TLSHandler.peerIdentity` read when the handshake event arrived.
    var handlerPeer: PeerIdentity?
    var received = ByteBuffer()
    var tlsErrors: [TLSError] = []
    var otherErrors: [String] = []
    var closed = false

    var errorCodes: [TLSError.Code] { tlsErrors.map(\.code) }
}

struct TimedOut: Error {}

/// Sits after `TLSHandler` and records everything it sees; optionally echoes data back.
///
/// `@unchecked Sendable`: `outcome` is only touched on the channel's event loop (handler
/// callbacks, and `snapshot()` which hops there); the promises are themselves Sendable.
final class ConnectionRecorder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let eventLoop: any EventLoop
    let handshake: EventLoopPromise<PeerIdentity?>
    let closed: EventLoopPromise<Void>
    private let receivedAll: EventLoopPromise<ByteBuffer>
    private let echo: Bool
    private let expectedBytes: Int?
    private let initialData: ByteBuffer?
    private var outcome = ConnectionOutcome()

    init(eventLoop: any EventLoop, echo: Bool, expectedBytes: Int? = nil, initialData: [UInt8]? = nil) {
        self.eventLoop = eventLoop
        self.echo = echo
        self.expectedBytes = expectedBytes
        self.initialData = initialData.map { ByteBuffer(bytes: $0) }
        handshake = eventLoop.makePromise()
        closed = eventLoop.makePromise()
        receivedAll = eventLoop.makePromise()
    }

    var received: EventLoopFuture<ByteBuffer> { receivedAll.futureResult }

    func channelActive(context: ChannelHandlerContext) {
        // Written while the TLS handshake has only just started, so `TLSHandler` must hold it back.
        if let initialData {
            context.writeAndFlush(wrapOutboundOut(initialData), promise: nil)
        }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSEvent.handshakeCompleted(let peer) = event {
            outcome.handshakeCompleted = true
            outcome.peer = peer
            outcome.handlerPeer = try? context.pipeline.syncOperations.handler(type: TLSHandler.self).peerIdentity
            handshake.succeed(peer)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        outcome.received.writeImmutableBuffer(buffer)
        if echo {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
        if let expectedBytes, outcome.received.readableBytes >= expectedBytes {
            receivedAll.succeed(outcome.received)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? TLSError {
            outcome.tlsErrors.append(error)
        } else {
            outcome.otherErrors.append(String(describing: error))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        outcome.closed = true
        handshake.fail(ChannelError.ioOnClosedChannel)
        receivedAll.fail(ChannelError.ioOnClosedChannel)
        closed.succeed()
        context.fireChannelInactive()
    }

    /// The outcome once the connection has closed (or a timeout).
    func finalOutcome(seconds: Int64 = 30) async throws -> ConnectionOutcome {
        try await waitFor(closed.futureResult, seconds: seconds)
        return try await eventLoop.submit { self.outcome }.get()
    }
}

/// Waits for `future`, failing with `TimedOut` after a generous limit so a bug cannot hang the run.
func waitFor<Value: Sendable>(_ future: EventLoopFuture<Value>, seconds: Int64 = 30) async throws -> Value {
    let promise = future.eventLoop.makePromise(of: Value.self)
    future.cascade(to: promise)
    let timeout = future.eventLoop.scheduleTask(in: .seconds(seconds)) { promise.fail(TimedOut()) }
    defer { timeout.cancel() }
    return try await promise.futureResult.get()
}

/// A TLS echo server on 127.0.0.1 with an ephemeral port.
struct TestServer: Sendable {
    let channel: any Channel
    let connections: AsyncStream<ConnectionRecorder>

    var port: Int { channel.localAddress!.port! }

    /// `makeContext` is asked once per accepted connection, as a service using a provider would.
    static func start(makeContext: @escaping @Sendable () -> TLSContext) async throws -> TestServer {
        let (connections, continuation) = AsyncStream.makeStream(of: ConnectionRecorder.self)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let recorder = ConnectionRecorder(eventLoop: channel.eventLoop, echo: true)
                    try channel.pipeline.syncOperations.addHandlers(TLSHandler(serverContext: makeContext()), recorder)
                    continuation.yield(recorder)
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        channel.closeFuture.whenComplete { _ in continuation.finish() }
        return TestServer(channel: channel, connections: connections)
    }

    func stop() async throws {
        try await channel.close()
    }
}

/// The client end of a test connection.
struct TestClient: Sendable {
    let channel: any Channel
    let recorder: ConnectionRecorder

    /// Connects over TLS; `context == nil` connects in plaintext (to send garbage).
    /// `initialData` is written as soon as the connection is up, before the handshake finishes.
    static func connect(
        port: Int,
        context: TLSContext?,
        serverHostname: String? = nil,
        initialData: [UInt8]? = nil,
        expectedBytes: Int? = nil
    ) async throws -> TestClient {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let recorder = ConnectionRecorder(eventLoop: loop, echo: false, expectedBytes: expectedBytes, initialData: initialData)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(
                            TLSHandler(clientContext: context, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(recorder)
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        return TestClient(channel: channel, recorder: recorder)
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}
