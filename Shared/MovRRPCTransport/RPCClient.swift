#if canImport(Glibc)
import Glibc
#endif
import Logging
import MovRPool
import MovRRPC
import MovRTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Tuning of an ``RPCClient``.
public struct RPCClientConfiguration: Sendable {
    /// Upper bound on open connections to the endpoint.
    public var maxConnections: Int = 32
    /// Connections being opened at once (TLS handshakes in flight). When every connection is
    /// busy, a caller opens a new one only below this; the others wait in line for the first
    /// connection released, and each finished handshake starts the next one for the first
    /// caller still waiting. A burst grows the pool a handshake or two at a time instead of
    /// paying for dozens at once on a machine that is already behind (on 2 cores, a fresh
    /// gateway's pool to the vehicles service grew from 2 to 26 connections within 0.2 s of a
    /// 1 400 req/s run, whose first 0.1 s had a p50 of 37–45 ms).
    public var maxConcurrentConnects: Int = 2
    /// A caller that finds every connection busy waits this long for one to come back before
    /// the pool opens another for it (unless none is open): about what a TLS handshake costs
    /// the two ends here, so a step in load is served by the connections that come back
    /// instead of growing the pool with handshakes that compete with it for the CPU. Zero:
    /// open at once.
    public var openDelay: Duration = .milliseconds(2)
    /// Keep idle connections open: each connection idle for `idleTimeout / 2` sends
    /// `GET /healthz` (resetting the server's idle timer) instead of being dropped at
    /// `idleTimeout`. The pool then keeps the size its busiest moment needed, so a lull between
    /// bursts does not make the next burst open (and pay handshakes for) them all again.
    public var keepsIdleConnectionsOpen = false
    public var connectTimeout: TimeAmount = .seconds(3)
    /// Pooled connections idle longer than this are dropped instead of reused; shorter than the
    /// server's idle timeout (60 s internal, 15 s on the public listener) so a reused connection
    /// is never one the server is closing: a request written as the server closes is lost, and
    /// one that is not idempotent cannot be sent again.
    public var idleTimeout: Duration = .seconds(10)
    /// Deadline of a call that brings none.
    public var defaultTimeout: Duration = .seconds(10)
    /// Attempts for a call marked idempotent (connection failures only; JSON-RPC errors are final).
    public var maxAttempts: Int = 3
    /// Replies larger than this are refused.
    public var maxReplyBytes: Int = 8 << 20
    /// TCP keepalive and user timeout on every connection (nil: off). Without them a call sent
    /// to a peer gone without a reset waits for its deadline; with them the call fails as
    /// ``RPCError/unavailable(reason:)`` within about 5 s.
    public var keepalive: TCPKeepalive? = TCPKeepalive()

    public init() {}
}

extension ClientBootstrap {
    /// ``TCPKeepalive`` as channel options (SOL_SOCKET for the switch, IPPROTO_TCP for the timing
    /// and the user timeout).
    func keepalive(_ keepalive: TCPKeepalive?) -> ClientBootstrap {
        guard let keepalive else { return self }
        #if os(Linux)
        return channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.tcpOption(NIOBSDSocket.Option(rawValue: CInt(TCP_KEEPIDLE))), value: SocketOptionValue(clamping: keepalive.idleSeconds))
            .channelOption(.tcpOption(NIOBSDSocket.Option(rawValue: CInt(TCP_KEEPINTVL))), value: SocketOptionValue(clamping: keepalive.intervalSeconds))
            .channelOption(.tcpOption(NIOBSDSocket.Option(rawValue: CInt(TCP_KEEPCNT))), value: SocketOptionValue(clamping: keepalive.count))
            .channelOption(.tcpOption(NIOBSDSocket.Option(rawValue: CInt(TCP_USER_TIMEOUT))),
                           value: SocketOptionValue(clamping: keepalive.userTimeoutMilliseconds))
        #else
        return channelOption(.socketOption(.so_keepalive), value: 1)
        #endif
    }
}

/// Per-call settings: the request id to carry, the deadline, and whether a retry is safe.
public struct RPCCallOptions: Sendable {
    public var requestID: String
    public var deadline: ContinuousClock.Instant?
    /// True when repeating the call cannot change the outcome (reads, calls keyed by an id).
    public var idempotent: Bool
    /// Extra HTTP headers (e.g. `authorization` for the public API).
    public var headers: [(String, String)]
    /// When the endpoint cannot be reached at all (every attempt failed before the request was
    /// sent), throw ``RPCUnreachableError`` instead of 503, so the caller may send it elsewhere.
    public var reportUnreachable = false

    public init(requestID: String = RequestTrace.newRequestID(), deadline: ContinuousClock.Instant? = nil,
                idempotent: Bool = false, headers: [(String, String)] = []) {
        self.requestID = requestID
        self.deadline = deadline
        self.idempotent = idempotent
        self.headers = headers
    }

    /// Options that carry an incoming request's id and deadline to the next hop.
    public init(from context: RPCContext, idempotent: Bool) {
        self.init(requestID: context.requestID, deadline: context.deadline, idempotent: idempotent)
    }
}

/// Thrown instead of 503 when ``RPCCallOptions/reportUnreachable`` is set and no attempt got as
/// far as sending the request: the endpoint did not run it.
public struct RPCUnreachableError: Error, CustomStringConvertible {
    public var endpoint: String
    public var underlying: String
    public var description: String { "\(endpoint) unreachable: \(underlying)" }

    public init(endpoint: String, underlying: String) {
        self.endpoint = endpoint
        self.underlying = underlying
    }
}

/// The event loop the current task runs on, when a server runs its handlers on the loop of
/// their connection; an ``RPCClient`` then prefers connections on that loop, so a call from a
/// handler never leaves its thread.
public enum RPCEventLoopPreference {
    @TaskLocal public static var current: (any EventLoop)?
}

/// A pooled keep-alive JSON-RPC client over TLS to one endpoint.
///
/// Every failure surfaces as an ``RPCError``: the server's own JSON-RPC error unchanged,
/// 503 `upstream_unavailable` when the endpoint cannot be reached, 504 `deadline_exceeded`
/// when the deadline passes first (or the calling task is cancelled).
///
/// A call made on an event loop (see ``RPCEventLoopPreference``) takes an idle connection of
/// that loop first. When none is idle, callers wait in a FIFO line until their deadline passes,
/// and the pool opens connections for the line (``RPCClientConfiguration/maxConcurrentConnects``
/// at a time, up to ``RPCClientConfiguration/maxConnections``); the first caller in line gets
/// whichever comes first, a connection another call gives back or a new one
/// (``ConnectionPoolState`` decides, the client acts).
public final class RPCClient: Sendable {
    public let endpoint: RPCEndpoint
    private let tls: TLSContextProvider
    private let group: any EventLoopGroup
    private let configuration: RPCClientConfiguration
    private let logger: Logger
    private let pool: NIOLockedValueBox<ConnectionPoolState<PooledConnection, Waiter>>
    private let keepAlive = NIOLockedValueBox<RepeatedTask?>(nil)

    public init(endpoint: RPCEndpoint, tls: TLSContextProvider, eventLoopGroup: any EventLoopGroup,
                configuration: RPCClientConfiguration = RPCClientConfiguration(), logger: Logger) {
        self.endpoint = endpoint
        self.tls = tls
        self.group = eventLoopGroup
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "upstream"] = "\(endpoint)"
        self.logger = logger
        pool = NIOLockedValueBox(ConnectionPoolState(limits: .init(
            size: max(1, configuration.maxConnections), maxConnecting: max(1, configuration.maxConcurrentConnects),
            openDelay: max(.zero, configuration.openDelay), idleTimeout: configuration.idleTimeout)))
        if configuration.keepsIdleConnectionsOpen {
            // Every quarter of the idle timeout, so each connection is refreshed between half and
            // three quarters of it.
            let period = TimeAmount.nanoseconds(max(1_000_000, (configuration.idleTimeout / 4).nanosecondsClamped))
            let loop = eventLoopGroup.next()
            let task = loop.scheduleRepeatedTask(initialDelay: period, delay: period) { [weak self] task in
                guard let self else { return task.cancel() }
                // On the loop, not Swift's global executor: a busy cooperative pool must not
                // delay refreshes past the idle timeout.
                Task(executorPreference: EventLoopTaskExecutor(eventLoop: loop)) { await self.refreshIdleConnections() }
            }
            keepAlive.withLockedValue { $0 = task }
        }
    }

    /// Calls `method` and returns its result as the JSON text the server sent (validated, not
    /// parsed), or throws an ``RPCError``.
    public func callRaw<Params: Encodable & Sendable>(_ method: String, params: Params,
                                                      options: RPCCallOptions) async throws -> RawJSON {
        var body = ByteBufferAllocator().buffer(capacity: 256)
        do {
            try RPCRequestEncoder.encode(method: method, encoding: params, id: Self.rpcID, into: &body)
        } catch {
            logger.error("params could not be encoded", metadata: ["method": "\(method)", "error": "\(error)"])
            throw RPCError.internalError
        }
        let reply = try await send(method: method, body: body, options: options)
        RequestCost.current?.addCall(reply: reply.cost)
        if let metadata = RPCReplyMetadata.current {
            if let lsn = reply.lsn { metadata.lsn = lsn }
            metadata.serverTiming = reply.serverTiming
        }
        switch try Self.outcome(of: reply, maxReplyBytes: configuration.maxReplyBytes) {
        case .success(let result): return result
        case .failure(let error): throw error
        }
    }

    /// Calls `method` and returns its result as a value.
    public func call(_ method: String, params: JSONValue?, options: RPCCallOptions) async throws -> JSONValue {
        let raw = try await callRaw(method, params: params ?? .object([:]), options: options)
        do {
            return try raw.parsed()
        } catch {
            throw RPCError.internalError
        }
    }

    /// Typed convenience over ``callRaw(_:params:options:)``.
    public func call<Params: Encodable & Sendable, Result: Decodable>(
        _ method: String, params: Params, as: Result.Type = Result.self, options: RPCCallOptions
    ) async throws -> Result {
        let raw = try await callRaw(method, params: params, options: options)
        do {
            // Lenient: a newer service may add result members this caller does not know yet.
            return try raw.parsed().decode(as: Result.self, strict: false)
        } catch {
            logger.error("upstream reply has an unexpected shape", metadata: ["method": "\(method)"])
            throw RPCError.internalError
        }
    }

    /// `GET path` (e.g. `/readyz`) on a fresh or pooled connection; returns the HTTP status.
    /// Health checks (`movr health`) use it: a status, not an RPC result.
    public func probe(path: String, deadline: ContinuousClock.Instant) async throws -> Int {
        do {
            let reply = try await exchange(body: ByteBuffer(), options: RPCCallOptions(deadline: deadline, idempotent: true),
                                           deadline: deadline, method: .GET, uri: path)
            return reply.status
        } catch let error as CallFailure {
            throw error.isDeadline ? RPCError.deadlineExceeded() : RPCError.unavailable(reason: "upstream_unavailable")
        }
    }

    /// Sends one request body, retrying connection failures of idempotent calls.
    private func send(method: String, body: ByteBuffer, options: RPCCallOptions) async throws -> ClientReply {
        let deadline = options.deadline ?? (.now + configuration.defaultTimeout)
        var attempt = 0
        // Whether an attempt got as far as sending: then the endpoint may have run the call.
        var sent = false
        while true {
            attempt += 1
            guard ContinuousClock.now < deadline else { throw RPCError.deadlineExceeded() }
            do {
                return try await exchange(body: body, options: options, deadline: deadline)
            } catch let error as CallFailure {
                sent = sent || !error.isBeforeSending
                if Task.isCancelled { throw RPCError.deadlineExceeded(reason: "cancelled") }
                if error.isTooLarge { throw RPCError.internalError }
                // A caller that asked to hear of an unreachable endpoint has somewhere else to
                // go: it hears at the first failure before sending, not after every attempt
                // has waited out its connect timeout (3 x 3 s to a host that is gone).
                let retry = (options.idempotent || error.isBeforeSending) && attempt < configuration.maxAttempts
                    && !error.isDeadline && !(options.reportUnreachable && error.isBeforeSending && !sent)
                logger.debug("call failed", metadata: ["method": "\(method)", "attempt": "\(attempt)",
                                                       "error": "\(error)", "retry": "\(retry)"])
                if retry {
                    let backoff = Duration.milliseconds(Int64.random(in: 5...25) * Int64(attempt))
                    if ContinuousClock.now + backoff < deadline {
                        try? await Task.sleep(for: backoff)
                        continue
                    }
                }
                if options.reportUnreachable && !sent && !error.isDeadline {
                    throw RPCUnreachableError(endpoint: "\(endpoint)", underlying: error.underlying)
                }
                throw error.isDeadline
                    ? RPCError.deadlineExceeded()
                    : RPCError.unavailable(reason: "upstream_unavailable")
            }
        }
    }

    /// Opens connections until `count` are idle in the pool (at most `maxConnections` open),
    /// each with its TLS handshake done and one `GET /healthz` answered, so the calls that follow
    /// pay for none: a load generator warms its connections before its clock starts, as pgbench
    /// and wrk connect before they measure. Idle connections that a call would no longer reuse
    /// (closed, or idle past the idle timeout) are closed first and replaced. Returns how many
    /// are idle and ready; connections that fail are not counted (the calls that follow open
    /// their own).
    @discardableResult
    public func warm(connections count: Int, deadline: ContinuousClock.Instant) async -> Int {
        var stale: [PooledConnection] = []
        // Stale ones would still count against `maxConnections` and leave nothing to open: the
        // run that follows would close them and pay for its handshakes on the clock. Before
        // any load, the openings start all at once, not `maxConcurrentConnects` at a time.
        let openings = pool.withLockedValue { state in
            state.reserveWarmOpenings(upTo: count, now: .now, expired: &stale, isUsable: { $0.channel.isActive })
        }
        for connection in stale { connection.channel.close(promise: nil) }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<openings {
                group.addTask {
                    let channel: any Channel
                    do {
                        channel = try await self.connect(on: nil)
                    } catch {
                        // A caller may be in line by now: it gets the error, or the next opening.
                        if self.openingFailed(error) { self.openForTheLine(on: nil) }
                        return
                    }
                    self.pool.withLockedValue { $0.openedForWarming() }
                    // The exchange gives the connection back to the pool (or closes it).
                    _ = try? await self.perform(self.healthRequest(), body: ByteBuffer(),
                                                on: PooledConnection(channel: channel, openedAt: .now), deadline: deadline)
                }
            }
        }
        return pool.withLockedValue { state in
            state.idle.filter { $0.connection.channel.isActive }.count
        }
    }

    /// `GET /healthz`: what warming and keeping a connection open send.
    private func healthRequest() -> ByteBuffer {
        var request = ByteBufferAllocator().buffer(capacity: 200)
        request.writeStaticString("GET /healthz HTTP/1.1\r\n")
        try? HTTPWire.writeHeader("host", endpoint.serverName ?? endpoint.host, into: &request)
        return request
    }

    /// ``RPCClientConfiguration/keepsIdleConnectionsOpen``: sends `GET /healthz` on each
    /// connection idle for half the idle timeout (taken out of the pool meanwhile); it goes back
    /// as just used, or is closed if the exchange fails.
    private func refreshIdleConnections() async {
        let now = ContinuousClock.now
        let half = configuration.idleTimeout / 2
        let timeout = configuration.idleTimeout
        let due = pool.withLockedValue { state -> [ConnectionPoolState<PooledConnection, Waiter>.Idle] in
            guard !state.isClosed else { return [] }
            return state.takeIdle { idle in
                let idleFor = now - idle.lastUsed
                return idle.connection.channel.isActive && idleFor >= half && idleFor < timeout
            }
        }
        for idle in due {
            _ = try? await perform(healthRequest(), body: ByteBuffer(), on: idle.connection, deadline: .now + .seconds(5))
        }
    }

    /// Closes idle connections and refuses new calls; connections in use close when released,
    /// and callers waiting for a connection fail at once. Returns when the idle connections are
    /// closed and their handlers removed, so their TLS state is freed before a process that
    /// shuts its client down goes on to exit.
    public func shutdown() async {
        keepAlive.withLockedValue { task in
            task?.cancel()
            task = nil
        }
        let (idle, waiters) = pool.withLockedValue { $0.close() }
        for waiter in waiters {
            waiter.continuation.resume(throwing: CallFailure(isBeforeSending: true, isDeadline: false, underlying: "client shut down"))
        }
        for connection in idle {
            // `close()` completes before the pipeline's handlers are removed; `closeFuture`
            // after.
            connection.channel.close(promise: nil)
            try? await connection.channel.closeFuture.get()
        }
    }

    // MARK: One exchange

    private struct CallFailure: Error, CustomStringConvertible {
        var isBeforeSending: Bool
        var isDeadline: Bool
        var isTooLarge = false
        var underlying: String
        var description: String { underlying }
    }

    private func exchange(body: ByteBuffer, options: RPCCallOptions, deadline: ContinuousClock.Instant,
                          method: HTTPMethod = .POST, uri: String = "/rpc") async throws -> ClientReply {
        // Written before a connection is taken: a header that could not be sent is the
        // caller's bug, answered as an internal error without trying any connection.
        var request: ByteBuffer
        do {
            request = try HTTPClientWire.startRequest(method: method.rawValue, uri: uri, capacity: 400 + body.readableBytes)
            try HTTPWire.writeHeader("host", endpoint.serverName ?? endpoint.host, into: &request)
            if method == .POST { try HTTPWire.writeHeader("content-type", "application/json", into: &request) }
            HTTPWire.writeHeader("content-length", integer: body.readableBytes, into: &request)
            try RequestTrace.writeTraceparentHeader(requestID: options.requestID, into: &request)
            try HTTPWire.writeHeader(RPCHeader.requestID, options.requestID, into: &request)
            for (name, value) in options.headers { try HTTPWire.writeHeader(name, value, into: &request) }
            if RequestCost.current != nil { try HTTPWire.writeHeader(RequestCost.header, "1", into: &request) }
        } catch {
            logger.error("request not sent", metadata: ["error": "\(error)"])
            throw RPCError.internalError
        }

        return try await perform(request, body: body, on: try await acquire(deadline: deadline), deadline: deadline)
    }

    /// Sends a request whose head `request` holds (all but the deadline header) on `connection`
    /// and returns the reply; the connection goes back to the pool (or is closed) either way.
    private func perform(_ request: ByteBuffer, body: ByteBuffer, on connection: PooledConnection,
                         deadline: ContinuousClock.Instant) async throws -> ClientReply {
        var request = request
        let channel = connection.channel
        let remaining = deadline - .now
        // The deadline header last: it counts from when a connection was ready.
        HTTPWire.writeHeader(RPCHeader.deadline, integer: max(1, remaining.nanosecondsClamped / 1_000_000), into: &request)
        HTTPClientWire.finishRequest(&request, body: body)

        let waiter = ReplyWaiter()
        let exchange = ClientExchange(request: request, waiter: waiter, maxReplyBytes: configuration.maxReplyBytes,
                                      deadline: .now() + .nanoseconds(max(1, remaining.nanosecondsClamped)))
        // The connection's handler fails the exchange at its deadline, or when the connection
        // fails or closes, and closes the connection.
        if channel.eventLoop.inEventLoop && channel.isActive {
            // On the connection's loop (a server handler's calls) with the connection open, the
            // write reaches that handler before this call returns, and the exchange is its own
            // from there: no write promise.
            channel.writeAndFlush(exchange, promise: nil)
        } else {
            // A channel that closes before the exchange reaches the handler (e.g. a failed TLS
            // handshake) fails the write instead; that must end the exchange too (the first
            // completion wins; later ones are ignored).
            channel.writeAndFlush(exchange).whenFailure { error in
                waiter.fail(error)
            }
        }
        do {
            let reply = try await withTaskCancellationHandler {
                try await waiter.wait()
            } onCancel: {
                // The caller gave up (its client went away or its deadline passed): the
                // exchange ends now, and the connection with it (its reply would be stray).
                waiter.fail(CancellationError())
                channel.close(promise: nil)
            }
            release(connection, reusable: reply.reusable)
            return reply
        } catch {
            release(connection, reusable: false)
            throw CallFailure(isBeforeSending: false, isDeadline: error as? ClientTransportError == .timedOut,
                              isTooLarge: error as? ClientTransportError == .replyTooLarge,
                              underlying: "\(error)")
        }
    }

    /// Every request's JSON-RPC id: one exchange per connection at a time, so one id serves.
    static let rpcID = RPCID(1)

    private static func outcome(of reply: ClientReply, maxReplyBytes: Int) throws -> Result<RawJSON, RPCError> {
        switch reply.status {
        case 200:
            // Our own executables' success replies: the frame checked, the result forwarded.
            if let result = RPCResponseDecoder.framedResult(body: reply.body, id: rpcID, maxBytes: maxReplyBytes) {
                return .success(result)
            }
            return try RPCResponseDecoder.decodeRaw(
                body: reply.body, limits: JSONLimits(maxDepth: 512, maxBytes: maxReplyBytes, maxStringBytes: maxReplyBytes))
        case 204:
            return .success(RawJSON(validated: ByteBuffer(staticString: "null")))
        case 500...599:
            throw RPCError.unavailable(reason: "upstream_unavailable")
        default:
            throw RPCError.internalError
        }
    }

    // MARK: Pool

    struct PooledConnection: Sendable {
        var channel: any Channel
        var openedAt: ContinuousClock.Instant
    }

    /// A caller waiting in line for a connection: resumed with one, or with an error (its
    /// deadline passed, it was cancelled, an opening for the line failed, the client shut down).
    struct Waiter: Sendable {
        var continuation: CheckedContinuation<PooledConnection, any Error>
    }

    /// The line's claim on a waiter (its deadline and its cancellation may take it out first).
    private typealias WaitTicket = PoolWaitTicket<CallFailure>

    private func acquire(deadline: ContinuousClock.Instant) async throws -> PooledConnection {
        let preferred = RPCEventLoopPreference.current
        let preferredKey = preferred.map { ObjectIdentifier($0) }
        var stale: [PooledConnection] = []
        // The common case first, without a waiter: an idle connection.
        let idle = pool.withLockedValue { state in
            state.takeIdleConnection(now: .now, expired: &stale, isUsable: { $0.channel.isActive },
                                     prefers: { preferredKey == nil || ObjectIdentifier($0.channel.eventLoop) == preferredKey })
        }
        for connection in stale { connection.channel.close(promise: nil) }
        if let idle { return idle }
        if pool.withLockedValue({ $0.isClosed }) {
            throw CallFailure(isBeforeSending: true, isDeadline: false, underlying: "client shut down")
        }
        return try await waitInLine(deadline: deadline, preferred: preferred, preferredKey: preferredKey)
    }

    /// Waits in line for a connection given back or opened, until `deadline`. The waiter is
    /// queued under the lock inside the continuation, so a connection given back between the
    /// first look and the wait cannot be missed (the lease looks at the idle ones again).
    private func waitInLine(deadline: ContinuousClock.Instant, preferred: (any EventLoop)?,
                            preferredKey: ObjectIdentifier?) async throws -> PooledConnection {
        let ticket = WaitTicket()
        let timeout = group.next().scheduleTask(deadline: NIODeadline.now() + .nanoseconds((deadline - .now).nanosecondsClamped)) {
            self.abandon(ticket, CallFailure(isBeforeSending: true, isDeadline: true, underlying: "pool saturated"))
        }
        defer { timeout.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PooledConnection, any Error>) in
                var stale: [PooledConnection] = []
                let action = pool.withLockedValue { state in
                    state.lease(now: .now, waiter: Waiter(continuation: continuation), expired: &stale,
                                isUsable: { $0.channel.isActive },
                                prefers: { preferredKey == nil || ObjectIdentifier($0.channel.eventLoop) == preferredKey })
                }
                for connection in stale { connection.channel.close(promise: nil) }
                switch action {
                case .use(let connection):
                    continuation.resume(returning: connection)
                case .closed:
                    continuation.resume(throwing: CallFailure(isBeforeSending: true, isDeadline: false, underlying: "client shut down"))
                case .wait(let id, let open, let recheckAfter):
                    if open { openForTheLine(on: preferred) }
                    if let recheckAfter { scheduleRecheck(after: recheckAfter, on: preferred) }
                    if let failure = ticket.queued(id),
                       let waiter = pool.withLockedValue({ $0.removeWaiter(id: id) }) {
                        waiter.continuation.resume(throwing: failure)
                    }
                }
            }
        } onCancel: {
            self.abandon(ticket, CallFailure(isBeforeSending: true, isDeadline: false, underlying: "cancelled"))
        }
    }

    /// Callers have waited in line for a while (``RPCClientConfiguration/openDelay``): opens
    /// connections for those still waiting as long as the delay, and looks again while anyone
    /// waits.
    private func scheduleRecheck(after delay: Duration, on loop: (any EventLoop)?) {
        (loop ?? group.next()).scheduleTask(in: TimeAmount(delay)) {
            let (openings, again) = self.pool.withLockedValue { $0.recheck(now: .now) }
            for _ in 0..<openings { self.openForTheLine(on: loop) }
            if let again { self.scheduleRecheck(after: again, on: loop) }
        }
    }

    /// Fails a waiter that is still in line (its deadline passed, or it was cancelled).
    private func abandon(_ ticket: WaitTicket, _ failure: CallFailure) {
        guard let id = ticket.abandon(failure),
              let waiter = pool.withLockedValue({ $0.removeWaiter(id: id) }) else { return }
        waiter.continuation.resume(throwing: failure)
    }

    /// Opens a connection for a slot the pool reserved, in the background: it goes to the first
    /// caller still in line (who may meanwhile have been given a connection that came back), or
    /// idle. `loop` is the event loop of the caller whose wait started it, if it had one.
    private func openForTheLine(on loop: (any EventLoop)?) {
        // Detached: the opening belongs to the pool, not to the caller whose wait started it.
        Task.detached { [self] in
            let another: Bool
            do {
                let connection = PooledConnection(channel: try await connect(on: loop), openedAt: .now)
                let (action, openAnother) = pool.withLockedValue {
                    $0.opened(connection, openedAt: connection.openedAt, now: .now)
                }
                switch action {
                case .handOver(let waiter): waiter.continuation.resume(returning: connection)
                case .keep: break
                case .close: connection.channel.close(promise: nil)
                }
                another = openAnother
            } catch {
                another = openingFailed(error)
            }
            if another { openForTheLine(on: loop) }
        }
    }

    /// An opening failed: the first caller in line gets the error (all of them when the pool
    /// holds no connection that could come back). Returns true when another opening is due.
    private func openingFailed(_ error: any Error) -> Bool {
        let (failed, openAnother) = pool.withLockedValue { $0.openFailed() }
        if failed.isEmpty {
            logger.debug("opening a pooled connection failed", metadata: ["error": "\(error)"])
        }
        let failure = CallFailure(isBeforeSending: true, isDeadline: false, underlying: "connect: \(error)")
        for waiter in failed { waiter.continuation.resume(throwing: failure) }
        return openAnother
    }

    /// What the pool holds now, the most connections it ever opened at once, and how many it
    /// ever opened.
    public var poolStatistics: (open: Int, idle: Int, waiting: Int, peakConnecting: Int, connectsStarted: Int) {
        pool.withLockedValue { state in
            (state.reserved, state.idle.count, state.waiters.count, state.peakConnecting, state.openingsStarted)
        }
    }

    private func release(_ connection: PooledConnection, reusable: Bool) {
        let reusable = reusable && connection.channel.isActive
        let action = pool.withLockedValue {
            $0.release(connection, openedAt: connection.openedAt, reusable: reusable, now: .now)
        }
        switch action {
        case .keep:
            break
        case .handOver(let waiter):
            waiter.continuation.resume(returning: connection)
        case .close(let open):
            connection.channel.close(promise: nil)
            if open { openForTheLine(on: nil) }
        }
    }

    /// Connects and finishes the TLS handshake (within the connect timeout), so a connection
    /// counts as being opened (``RPCClientConfiguration/maxConcurrentConnects``) for as long as
    /// opening it costs.
    private func connect(on loop: (any EventLoop)?) async throws -> any Channel {
        let context = tls.current
        let serverName = endpoint.serverName
        let loop = loop ?? group.next()
        let handshake = loop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(validatingGroup: loop) ?? ClientBootstrap(group: group)
        let channel: any Channel
        do {
            channel = try await bootstrap
                .connectTimeout(configuration.connectTimeout)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)  // IPPROTO_TCP, not SOL_SOCKET (see RPCServer)
                .keepalive(configuration.keepalive)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let operations = channel.pipeline.syncOperations
                        try operations.addHandler(TLSHandler(clientContext: context, serverHostname: serverName))
                        try operations.addHandler(RPCClientHandler(handshake: handshake))
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port).get()
        } catch {
            handshake.fail(error)  // never added to a pipeline (a completed promise ignores this)
            throw error
        }
        let timeout = channel.eventLoop.scheduleTask(in: configuration.connectTimeout) {
            handshake.fail(ClientTransportError.handshakeTimedOut)
            channel.close(promise: nil)
        }
        defer { timeout.cancel() }
        do {
            try await handshake.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return channel
    }
}
