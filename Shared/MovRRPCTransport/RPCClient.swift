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
    public var connectTimeout: TimeAmount = .seconds(3)
    /// Pooled connections idle longer than this are dropped instead of reused; shorter than the
    /// server's idle timeout so a reused connection is never one the server is closing.
    public var idleTimeout: Duration = .seconds(20)
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

/// A pooled keep-alive JSON-RPC client over TLS to one endpoint.
///
/// Every failure surfaces as an ``RPCError``: the server's own JSON-RPC error unchanged,
/// 503 `upstream_unavailable` when the endpoint cannot be reached, 504 `deadline_exceeded`
/// when the deadline passes first.
public final class RPCClient: Sendable {
    public let endpoint: RPCEndpoint
    private let tls: TLSContextProvider
    private let group: any EventLoopGroup
    private let configuration: RPCClientConfiguration
    private let logger: Logger
    private let pool = NIOLockedValueBox(PoolState())

    private struct PooledConnection: Sendable {
        var channel: any Channel
        var lastUsed: ContinuousClock.Instant
    }

    private struct PoolState: Sendable {
        var idle: [PooledConnection] = []
        var open = 0
        var closed = false
    }

    public init(endpoint: RPCEndpoint, tls: TLSContextProvider, eventLoopGroup: any EventLoopGroup,
                configuration: RPCClientConfiguration = RPCClientConfiguration(), logger: Logger) {
        self.endpoint = endpoint
        self.tls = tls
        self.group = eventLoopGroup
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "upstream"] = "\(endpoint)"
        self.logger = logger
    }

    /// Calls `method` and returns its result, or throws an ``RPCError``.
    public func call(_ method: String, params: JSONValue?, options: RPCCallOptions) async throws -> JSONValue {
        let deadline = options.deadline ?? (.now + configuration.defaultTimeout)
        let body = RPCRequestEncoder.encode(method: method, params: params, id: .number("1"))
        var attempt = 0
        while true {
            attempt += 1
            guard ContinuousClock.now < deadline else { throw RPCError.deadlineExceeded() }
            do {
                let reply = try await exchange(body: body, options: options, deadline: deadline)
                return try Self.result(of: reply)
            } catch let error as RPCError {
                throw error
            } catch let error as CallFailure {
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
                throw error.isDeadline
                    ? RPCError.deadlineExceeded()
                    : RPCError.unavailable(reason: "upstream_unavailable")
            }
        }
    }

    /// Typed convenience over ``call(_:params:options:)``.
    public func call<Params: Encodable & Sendable, Result: Decodable>(
        _ method: String, params: Params, as: Result.Type = Result.self, options: RPCCallOptions
    ) async throws -> Result {
        let encoded: JSONValue
        do {
            encoded = try JSONValue(encoding: params)
        } catch {
            throw RPCError.internalError
        }
        let value = try await call(method, params: encoded, options: options)
        do {
            return try value.decode(as: Result.self)
        } catch {
            logger.error("upstream reply has an unexpected shape", metadata: ["method": "\(method)"])
            throw RPCError.internalError
        }
    }

    /// Closes idle connections and refuses new calls; connections in use close when released.
    public func shutdown() async {
        let idle = pool.withLockedValue { state -> [PooledConnection] in
            state.closed = true
            defer { state.idle = [] }
            state.open -= state.idle.count
            return state.idle
        }
        for connection in idle {
            try? await connection.channel.close()
        }
    }

    // MARK: One exchange

    private struct CallFailure: Error, CustomStringConvertible {
        var isBeforeSending: Bool
        var isDeadline: Bool
        var underlying: String
        var description: String { underlying }
    }

    private func exchange(body: [UInt8], options: RPCCallOptions,
                          deadline: ContinuousClock.Instant) async throws -> ClientReply {
        let connection = try await acquire(deadline: deadline)
        let channel = connection.channel
        let remaining = deadline - .now
        var headers = HTTPHeaders()
        headers.add(name: "host", value: endpoint.serverName ?? endpoint.host)
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: "\(body.count)")
        headers.add(name: RPCHeader.traceparent, value: RequestTrace.traceparent(requestID: options.requestID))
        headers.add(name: RPCHeader.requestID, value: options.requestID)
        headers.add(name: RPCHeader.deadline, value: "\(max(1, remaining.nanosecondsClamped / 1_000_000))")
        for (name, value) in options.headers { headers.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/rpc", headers: headers)

        let timedOut = NIOLockedValueBox(false)
        let promise = channel.eventLoop.makePromise(of: ClientReply.self)
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(max(1, remaining.nanosecondsClamped))) {
            // A promise completes once; later completions (e.g. from the handler) are no-ops.
            timedOut.withLockedValue { $0 = true }
            promise.fail(ClientTransportError.connectionClosed)
            channel.close(promise: nil)
        }
        // A channel that closed before the exchange reached the handler (e.g. a failed TLS
        // handshake) fails the write instead; that must end the exchange too.
        channel.writeAndFlush(ClientExchange(head: head, body: body, promise: promise)).whenFailure { error in
            promise.fail(error)
        }
        do {
            let reply = try await promise.futureResult.get()
            timer.cancel()
            release(connection, reusable: reply.reusable && reply.body.count <= configuration.maxReplyBytes)
            return reply
        } catch {
            timer.cancel()
            release(connection, reusable: false)
            throw CallFailure(isBeforeSending: false, isDeadline: timedOut.withLockedValue { $0 },
                              underlying: "\(error)")
        }
    }

    private static func result(of reply: ClientReply) throws -> JSONValue {
        switch reply.status {
        case 200:
            switch try RPCResponseDecoder.decode(body: reply.body) {
            case .success(let value): return value
            case .failure(let error): throw error
            }
        case 204:
            return .null
        case 500...599:
            throw RPCError.unavailable(reason: "upstream_unavailable")
        default:
            throw RPCError.internalError
        }
    }

    // MARK: Pool

    private enum Acquisition {
        case use(PooledConnection)
        case connect
        case wait
        case closed
    }

    private func acquire(deadline: ContinuousClock.Instant) async throws -> PooledConnection {
        while true {
            var stale: [PooledConnection] = []
            let now = ContinuousClock.now
            let action = pool.withLockedValue { state -> Acquisition in
                guard !state.closed else { return .closed }
                while let candidate = state.idle.popLast() {
                    if candidate.channel.isActive, now - candidate.lastUsed < configuration.idleTimeout {
                        return .use(candidate)
                    }
                    state.open -= 1
                    stale.append(candidate)
                }
                guard state.open < configuration.maxConnections else { return .wait }
                state.open += 1
                return .connect
            }
            for connection in stale { connection.channel.close(promise: nil) }
            switch action {
            case .use(let connection):
                return connection
            case .closed:
                throw CallFailure(isBeforeSending: false, isDeadline: false, underlying: "client shut down")
            case .connect:
                do {
                    return PooledConnection(channel: try await connect(), lastUsed: .now)
                } catch {
                    pool.withLockedValue { $0.open -= 1 }
                    throw CallFailure(isBeforeSending: true, isDeadline: false, underlying: "connect: \(error)")
                }
            case .wait:
                // Saturated: poll briefly; the pool is sized so this is rare.
                guard ContinuousClock.now < deadline else {
                    throw CallFailure(isBeforeSending: true, isDeadline: true, underlying: "pool saturated")
                }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
    }

    private func release(_ connection: PooledConnection, reusable: Bool) {
        let keep = reusable && connection.channel.isActive
        let closeIt = pool.withLockedValue { state -> Bool in
            if keep, !state.closed {
                state.idle.append(PooledConnection(channel: connection.channel, lastUsed: .now))
                return false
            }
            state.open -= 1
            return true
        }
        if closeIt { connection.channel.close(promise: nil) }
    }

    private func connect() async throws -> any Channel {
        let context = tls.current
        let serverName = endpoint.serverName
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(TLSHandler(clientContext: context, serverHostname: serverName))
                    try operations.addHTTPClientHandlers()
                    try operations.addHandler(RPCClientHandler())
                }
            }
        return try await bootstrap.connect(host: endpoint.host, port: endpoint.port).get()
    }
}
