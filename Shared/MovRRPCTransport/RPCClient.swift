import Logging
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

    public init() {}
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
/// Connections are kept per event loop; a call made on a loop (see ``RPCEventLoopPreference``)
/// takes one of that loop's connections first. When every connection is busy, callers wait in
/// a FIFO queue until one is released or their deadline passes.
public final class RPCClient: Sendable {
    public let endpoint: RPCEndpoint
    private let tls: TLSContextProvider
    private let group: any EventLoopGroup
    private let configuration: RPCClientConfiguration
    private let logger: Logger
    private let pool = NIOLockedValueBox(PoolState())
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
            try RPCRequestEncoder.encode(method: method, encoding: params, id: RPCID(1), into: &body)
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
                let retry = (options.idempotent || error.isBeforeSending) && attempt < configuration.maxAttempts
                    && !error.isDeadline
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
        let now = ContinuousClock.now
        let (reserved, stale) = pool.withLockedValue { state -> (Int, [PooledConnection]) in
            guard !state.closed else { return (0, []) }
            // Stale ones would still count against `maxConnections` and leave nothing to open:
            // the run that follows would close them and pay for its handshakes on the clock.
            var stale: [PooledConnection] = []
            state.idle.removeAll { connection in
                guard !connection.channel.isActive || now - connection.lastUsed >= configuration.idleTimeout else {
                    return false
                }
                stale.append(connection)
                return true
            }
            state.open -= stale.count
            let wanted = min(count - state.idle.count, configuration.maxConnections - state.open)
            guard wanted > 0 else { return (0, stale) }
            // Before any load: opened all at once, not `maxConcurrentConnects` at a time.
            state.open += wanted
            for _ in 0..<wanted { state.startConnecting() }
            return (wanted, stale)
        }
        for connection in stale { connection.channel.close(promise: nil) }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<reserved {
                group.addTask {
                    guard let connection = try? await self.connectReserved(on: nil) else { return }
                    _ = try? await self.perform(self.healthRequest(), body: ByteBuffer(), on: connection, deadline: deadline)
                }
            }
        }
        return pool.withLockedValue { state in
            state.idle.filter { $0.channel.isActive }.count
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
        let due = pool.withLockedValue { state -> [PooledConnection] in
            guard !state.closed else { return [] }
            var due: [PooledConnection] = []
            state.idle.removeAll { connection in
                let idleFor = now - connection.lastUsed
                guard connection.channel.isActive, idleFor >= half, idleFor < configuration.idleTimeout else { return false }
                due.append(connection)
                return true
            }
            return due
        }
        for connection in due {
            _ = try? await perform(healthRequest(), body: ByteBuffer(), on: connection, deadline: .now + .seconds(5))
        }
    }

    /// Closes idle connections and refuses new calls; connections in use close when released,
    /// and callers waiting for a connection fail at once.
    public func shutdown() async {
        keepAlive.withLockedValue { task in
            task?.cancel()
            task = nil
        }
        let (idle, waiters) = pool.withLockedValue { state -> ([PooledConnection], [Waiter]) in
            state.closed = true
            let idle = state.idle
            state.idle = []
            state.open -= idle.count
            let waiters = Array(state.waiters)
            state.waiters.removeAll()
            return (idle, waiters)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: CallFailure(isBeforeSending: true, isDeadline: false, underlying: "client shut down"))
        }
        for connection in idle {
            try? await connection.channel.close()
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

    private static func outcome(of reply: ClientReply, maxReplyBytes: Int) throws -> Result<RawJSON, RPCError> {
        switch reply.status {
        case 200:
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
        var lastUsed: ContinuousClock.Instant
    }

    /// A caller waiting for a connection: resumed with one, or with `nil` when it may open one
    /// itself (a slot was freed), or with an error at its deadline.
    struct Waiter: Sendable {
        var id: Int
        var continuation: CheckedContinuation<PooledConnection?, any Error>
    }

    /// Internal (not private) for PoolStateTests.
    struct PoolState: Sendable {
        /// Idle connections, most recently released last. One flat list, not one per event loop:
        /// a dictionary's in-place update of a list allocated (its accessor's frame) on every
        /// call and release, and a pool holds few connections.
        var idle: [PooledConnection] = []
        /// Connections open or being opened (each holds a slot).
        var open = 0
        /// Of those, being opened now.
        var connecting = 0
        /// The most ever opened at once, and how many were ever opened (``RPCClient/poolStatistics``).
        var peakConnecting = 0
        var connectsStarted = 0
        var closed = false
        var waiters = CircularBuffer<Waiter>()
        var nextWaiterID = 0

        /// Takes a slot to open a connection in when the pool has room and few enough
        /// handshakes are under way.
        mutating func reserveConnect(_ configuration: RPCClientConfiguration) -> Bool {
            guard open < configuration.maxConnections,
                  connecting < max(1, configuration.maxConcurrentConnects) else { return false }
            open += 1
            startConnecting()
            return true
        }

        /// Counts one more connection being opened (its slot already counted in `open`).
        mutating func startConnecting() {
            connecting += 1
            connectsStarted += 1
            peakConnecting = max(peakConnecting, connecting)
        }

        /// The most recently released idle connection on `loop`, else the most recent on any
        /// loop; the connections passed over that are closed or idle too long go to `stale`.
        /// Allocates nothing when it finds one (it runs for every call).
        mutating func takeIdle(preferring loop: ObjectIdentifier?, now: ContinuousClock.Instant,
                               idleTimeout: Duration, stale: inout [PooledConnection]) -> PooledConnection? {
            var otherLoop: Int?
            var index = idle.count - 1
            while index >= 0 {
                let candidate = idle[index]
                if !candidate.channel.isActive || now - candidate.lastUsed >= idleTimeout {
                    stale.append(idle.remove(at: index))
                    open -= 1
                    if let other = otherLoop { otherLoop = other - 1 }  // it sat above this one
                } else if loop == nil || ObjectIdentifier(candidate.channel.eventLoop) == loop {
                    return idle.remove(at: index)
                } else if otherLoop == nil {
                    otherLoop = index
                }
                index -= 1
            }
            return otherLoop.map { idle.remove(at: $0) }
        }
    }

    private enum Acquisition {
        case use(PooledConnection)
        case connect
        case closed
    }

    private func acquire(deadline: ContinuousClock.Instant) async throws -> PooledConnection {
        let preferred = RPCEventLoopPreference.current
        let preferredKey = preferred.map { ObjectIdentifier($0) }
        var stale: [PooledConnection] = []
        let now = ContinuousClock.now
        let action = pool.withLockedValue { state -> Acquisition? in
            guard !state.closed else { return .closed }
            if let connection = state.takeIdle(preferring: preferredKey, now: now,
                                               idleTimeout: configuration.idleTimeout, stale: &stale) {
                return .use(connection)
            }
            return state.reserveConnect(configuration) ? .connect : nil
        }
        for connection in stale { connection.channel.close(promise: nil) }
        switch action {
        case .use(let connection):
            return connection
        case .closed:
            throw CallFailure(isBeforeSending: true, isDeadline: false, underlying: "client shut down")
        case .connect:
            return try await connectReserved(on: preferred)
        case nil:
            // Saturated (or enough handshakes under way): wait in line for a released
            // connection, or for a slot to open one in.
            if let handed = try await waitForConnection(deadline: deadline) {
                return handed
            }
            return try await connectReserved(on: preferred)
        }
    }

    /// Opens a connection for a slot already counted in `open` and `connecting`.
    private func connectReserved(on loop: (any EventLoop)?) async throws -> PooledConnection {
        do {
            let channel = try await connect(on: loop)
            connectFinished()
            return PooledConnection(channel: channel, lastUsed: .now)
        } catch {
            connectFinished()
            releaseSlot()
            throw CallFailure(isBeforeSending: true, isDeadline: false, underlying: "connect: \(error)")
        }
    }

    /// A handshake ended: the first caller still waiting may open the next connection.
    private func connectFinished() {
        let next = pool.withLockedValue { state -> Waiter? in
            state.connecting -= 1
            guard !state.closed, !state.waiters.isEmpty, state.reserveConnect(configuration) else { return nil }
            return state.waiters.popFirst()
        }
        next?.continuation.resume(returning: nil)
    }

    /// What the pool holds now, the most connections it ever opened at once, and how many it
    /// ever opened.
    public var poolStatistics: (open: Int, idle: Int, waiting: Int, peakConnecting: Int, connectsStarted: Int) {
        pool.withLockedValue { state in
            (state.open, state.idle.count, state.waiters.count, state.peakConnecting,
             state.connectsStarted)
        }
    }

    private func waitForConnection(deadline: ContinuousClock.Instant) async throws -> PooledConnection? {
        let id = pool.withLockedValue { state -> Int in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timeout = group.next().scheduleTask(deadline: NIODeadline.now() + .nanoseconds((deadline - .now).nanosecondsClamped)) {
            self.removeWaiter(id, failure: CallFailure(isBeforeSending: true, isDeadline: true, underlying: "pool saturated"))
        }
        defer { timeout.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let enqueued = pool.withLockedValue { state -> Bool in
                    guard !state.closed else { return false }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return true
                }
                if !enqueued {
                    continuation.resume(throwing: CallFailure(isBeforeSending: true, isDeadline: false, underlying: "client shut down"))
                }
            }
        } onCancel: {
            self.removeWaiter(id, failure: CallFailure(isBeforeSending: true, isDeadline: false, underlying: "cancelled"))
        }
    }

    /// Fails waiter `id` if it is still waiting (its deadline passed, or it was cancelled).
    private func removeWaiter(_ id: Int, failure: CallFailure) {
        let removed = pool.withLockedValue { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        removed?.continuation.resume(throwing: failure)
    }

    private func release(_ connection: PooledConnection, reusable: Bool) {
        let keep = reusable && connection.channel.isActive
        if !keep {
            connection.channel.close(promise: nil)
            releaseSlot()
            return
        }
        let (waiter, closeIt) = pool.withLockedValue { state -> (Waiter?, Bool) in
            if state.closed {
                state.open -= 1
                return (nil, true)
            }
            if let waiter = state.waiters.popFirst() { return (waiter, false) }
            state.idle.append(PooledConnection(channel: connection.channel, lastUsed: .now))
            return (nil, false)
        }
        if closeIt { connection.channel.close(promise: nil) }
        waiter?.continuation.resume(returning: PooledConnection(channel: connection.channel, lastUsed: .now))
    }

    /// Gives up a connection slot; the first waiter, if any, may open a connection in its place.
    private func releaseSlot() {
        let waiter = pool.withLockedValue { state -> Waiter? in
            if !state.closed, let waiter = state.waiters.popFirst() {
                state.startConnecting()
                return waiter
            }
            state.open -= 1
            return nil
        }
        waiter?.continuation.resume(returning: nil)
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
