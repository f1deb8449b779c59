import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// How one simulated wide-area link behaves.
///
/// Delays are applied per chunk of bytes read from a socket, in each direction: a chunk leaves
/// the proxy `oneWay` (+ up to `jitter`) after it arrived, never before an earlier chunk of the
/// same direction (TCP delivers in order, so jitter never reorders bytes).
public struct WANLinkProfile: Sendable, Hashable, Codable {
    /// Half the round-trip time of the region pair.
    public var oneWay: Duration
    /// Extra delay, uniformly distributed in 0...jitter, per chunk.
    public var jitter: Duration
    /// Probability (0...1) that a chunk is "lost". TCP does not lose bytes, it resends them: a
    /// lost segment arrives one retransmission timeout later (Linux: at least 200 ms, and at
    /// least one RTT), and everything behind it waits (head-of-line blocking). That is what is
    /// simulated: the chunk and its successors are held back by `retransmitTimeout`.
    public var loss: Double

    public init(oneWay: Duration, jitter: Duration = .zero, loss: Double = 0) {
        self.oneWay = oneWay
        self.jitter = jitter
        self.loss = loss
    }

    /// The round trip this profile simulates (without jitter or loss).
    public var roundTrip: Duration { oneWay * 2 }

    /// The extra delay of a lost chunk: Linux's minimum RTO (200 ms) or one RTT if larger.
    public var retransmitTimeout: Duration { max(.milliseconds(200), roundTrip) }

    /// A new TCP connection's first bytes cannot leave before the handshake: SYN out, SYN-ACK
    /// back (one RTT), then the data's own one-way trip. Connections are pooled, so this is paid
    /// once per connection, as on a real WAN.
    public var handshake: Duration { roundTrip }

    /// When a chunk read at `now` may leave, given the previous chunk's release `after`.
    func release(now: NIODeadline, after previous: NIODeadline,
                 using generator: inout some RandomNumberGenerator) -> NIODeadline {
        var delay = oneWay
        if jitter > .zero {
            delay += .nanoseconds(Int64.random(in: 0...jitter.nanoseconds, using: &generator))
        }
        if loss > 0, Double.random(in: 0..<1, using: &generator) < loss {
            delay += retransmitTimeout
        }
        let candidate = now + TimeAmount.nanoseconds(delay.nanoseconds)
        // Strictly after the previous chunk: scheduled tasks with one deadline keep no order.
        return max(candidate, previous + .nanoseconds(1))
    }
}

extension Duration {
    /// Whole nanoseconds (durations here are far below Int64's range).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var milliseconds: Double { Double(nanoseconds) / 1_000_000 }
}

/// A TCP proxy that delays every byte by a ``WANLinkProfile``: one listener, one upstream.
///
/// Each accepted connection gets its own upstream connection on the same event loop; bytes
/// are relayed both ways after the link's delay. When a side closes, the other is closed once
/// everything already read has been delivered. The proxy buffers what is in flight in memory
/// and stops reading a side while more than `maxBufferedBytes` of it wait to be delivered.
public final class WANProxy: Sendable {
    public let upstreamHost: String
    public let upstreamPort: Int
    private let currentProfile: NIOLockedValueBox<WANLinkProfile>
    private let group: any EventLoopGroup
    private let state = NIOLockedValueBox<(listener: (any Channel)?, connections: Int)>((nil, 0))
    /// Both sockets of every relayed connection, for ``resetConnections()``.
    private let open = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    static let maxBufferedBytes = 4 << 20

    public init(upstreamHost: String, upstreamPort: Int, profile: WANLinkProfile,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.upstreamHost = upstreamHost
        self.upstreamPort = upstreamPort
        self.currentProfile = NIOLockedValueBox(profile)
        self.group = group
    }

    /// The delays applied now (read for every chunk, so a change applies at once).
    public var profile: WANLinkProfile {
        get { currentProfile.withLockedValue { $0 } }
    }

    /// Changes the delays of every connection, open or future (`movr up` loads its demo data
    /// before switching the simulated distances on).
    public func setProfile(_ profile: WANLinkProfile) {
        currentProfile.withLockedValue { $0 = profile }
    }

    /// Starts listening on `host:port` (port 0: any free port); returns the bound port.
    @discardableResult
    public func start(host: String = "127.0.0.1", port: Int) async throws -> Int {
        let profile = self.currentProfile
        let upstreamHost = self.upstreamHost, upstreamPort = self.upstreamPort
        let open = self.open
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { inbound in
                Self.connect(inbound: inbound, host: upstreamHost, port: upstreamPort, profile: profile, open: open)
            }
            .bind(host: host, port: port)
            .get()
        state.withLockedValue { $0.listener = channel }
        guard let bound = channel.localAddress?.port else {
            throw WANProxyError("proxy listener has no port")
        }
        return bound
    }

    public func stop() async {
        let listener = state.withLockedValue { state -> (any Channel)? in
            defer { state.listener = nil }
            return state.listener
        }
        try? await listener?.close()
    }

    /// Fault injection (`movr up --fault-proxies`, `make test-faults`): aborts every relayed
    /// connection open now with a TCP reset on both sides (SO_LINGER 0, then close), as a
    /// middlebox or a peer's crash would. New connections are relayed as before. Returns how
    /// many relayed connections were reset.
    @discardableResult
    public func resetConnections() async -> Int {
        let channels = open.withLockedValue { open -> [any Channel] in
            defer { open = [:] }
            return Array(open.values)
        }
        // Linger 0 on every socket first: closing one side makes its relay close the other.
        for channel in channels {
            try? await (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        for channel in channels {
            try? await channel.close()
        }
        return channels.count / 2
    }

    /// Relayed connections open now.
    public var openConnections: Int { open.withLockedValue { $0.count / 2 } }

    private static func connect(inbound: any Channel, host: String, port: Int,
                                profile: NIOLockedValueBox<WANLinkProfile>,
                                open: NIOLockedValueBox<[ObjectIdentifier: any Channel]>) -> EventLoopFuture<Void> {
        let loop = inbound.eventLoop
        let accepted = NIODeadline.now()
        return ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: false)
            .connectTimeout(.seconds(5))
            .connect(host: host, port: port)
            .flatMap { outbound in
                // Client -> upstream waits for the simulated handshake; upstream -> client
                // cannot send before it has received something, so it needs no extra wait.
                // Real TCP: SYN at t0, SYN-ACK back at t0 + RTT, the first data arrives at
                // t0 + RTT + one way.
                let first = profile.withLockedValue { $0.handshake + $0.oneWay }
                let firstAllowed = accepted + .nanoseconds(first.nanoseconds)
                let forward = DelayedRelayHandler(peer: outbound, profile: profile, notBefore: firstAllowed)
                let backward = DelayedRelayHandler(peer: inbound, profile: profile, notBefore: accepted)
                do {
                    try inbound.pipeline.syncOperations.addHandler(forward)
                    try outbound.pipeline.syncOperations.addHandler(backward)
                    for channel in [inbound, outbound] {
                        let key = ObjectIdentifier(channel)
                        open.withLockedValue { $0[key] = channel }
                        channel.closeFuture.whenComplete { _ in _ = open.withLockedValue { $0.removeValue(forKey: key) } }
                    }
                } catch {
                    outbound.close(promise: nil)
                    return loop.makeFailedFuture(error)
                }
                return loop.makeSucceededVoidFuture()
            }
            .flatMapError { error in
                inbound.close(promise: nil)
                return loop.makeFailedFuture(error)
            }
    }
}

/// Reads one side and writes to the other after the link's delay. Both channels of a relayed
/// connection live on one event loop, so the pair shares no state across threads.
final class DelayedRelayHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let peer: any Channel
    private let profile: NIOLockedValueBox<WANLinkProfile>
    private var lastRelease: NIODeadline
    private var buffered = 0
    private var closing = false
    private var paused = false
    private var generator = SystemRandomNumberGenerator()
    private var context: ChannelHandlerContext?

    init(peer: any Channel, profile: NIOLockedValueBox<WANLinkProfile>, notBefore: NIODeadline) {
        self.peer = peer
        self.profile = profile
        self.lastRelease = notBefore
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Reading is manual (autoRead off) so a side can pause; the accepted side becomes
        // active only after its initializer (which waits for the upstream) has finished.
        if context.channel.isActive { context.read() }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let release = profile.withLockedValue { $0 }.release(now: .now(), after: lastRelease, using: &generator)
        lastRelease = release
        buffered += bytes.readableBytes
        let peer = self.peer
        context.eventLoop.assumeIsolated().scheduleTask(deadline: release) {
            peer.writeAndFlush(bytes, promise: nil)
            self.buffered -= bytes.readableBytes
            if self.paused, self.buffered < WANProxy.maxBufferedBytes / 2 {
                self.paused = false
                self.context?.read()
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if buffered >= WANProxy.maxBufferedBytes {
            paused = true
        } else {
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeAfterDelivery(context.eventLoop)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Closes the peer once every chunk read so far has been written (like a FIN in flight).
    private func closeAfterDelivery(_ loop: any EventLoop) {
        guard !closing else { return }
        closing = true
        let peer = self.peer
        loop.assumeIsolated().scheduleTask(deadline: lastRelease + .nanoseconds(1)) {
            peer.close(promise: nil)
        }
    }
}

public struct WANProxyError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
