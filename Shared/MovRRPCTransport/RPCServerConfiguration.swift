import MovRRPC
import NIOCore

/// How an ``RPCServer`` listens and what it tolerates. Defaults follow docs/architecture.md §3.
public struct RPCServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 asks the kernel for a free port; ``RPCServer/localPort`` tells which.
    public var port: Int = 0
    public var limits: RPCLimits = RPCLimits()
    /// Time a new connection (or a started request) has to deliver a complete request.
    public var requestReadTimeout: TimeAmount = .seconds(10)
    /// Time a keep-alive connection may sit idle between requests.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// Connections beyond this are closed as soon as they are accepted.
    public var maxConnections: Int = 1024
    /// Open connections allowed per client address (0: no per-client cap). Trusted proxies are
    /// exempt: every client behind them shares their address.
    public var maxConnectionsPerClient: Int = 0
    /// Load balancers whose `X-Forwarded-For` names the client (``ClientAddress``).
    public var trustedProxies: TrustedProxies = []
    /// Deadline given to a request that brings none; a caller's shorter deadline wins.
    public var defaultDeadline: Duration = .seconds(30)
    /// Longest deadline a caller may ask for.
    public var maxDeadline: Duration = .seconds(60)
    /// Time graceful shutdown waits for in-flight requests before closing connections.
    public var shutdownGracePeriod: Duration = .seconds(10)
    /// Whether the caller's identity is taken from its client certificate (internal listeners).
    public var identifiesCallers: Bool = true
    /// Headers sent with every response (the public listener adds HSTS and friends).
    public var responseHeaders: [(String, String)] = []
    /// The name this server accounts request costs under when a caller sends `movr-cost`
    /// (``RequestCost``); `nil` ignores the header.
    public var costName: String?
    /// Whether RPC replies say which regions' services answered (`X-MovR-Region`) and how long
    /// the gateway spent (`Server-Timing`): the public listener's locality story for clients.
    public var reportsServingRegions: Bool = false
    /// How long a `/readyz` answer is reused: probing every dependency on each request would let
    /// a client amplify cheap requests into internal calls.
    public var readinessCacheDuration: Duration = .seconds(1)

    public init() {}
}

/// A non-RPC HTTP answer: health, readiness, metrics and static files.
public struct HTTPPlainResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// `Cache-Control` of this answer (the default never lets anything be stored).
    public var cacheControl: String
    /// Headers of this answer beyond the listener's own (e.g. a page's `Content-Security-Policy`).
    public var headers: [(String, String)]

    public init(status: Int, contentType: String, body: [UInt8], cacheControl: String = "no-store",
                headers: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.cacheControl = cacheControl
        self.headers = headers
    }

    public init(status: Int, json: String) {
        self.init(status: status, contentType: "application/json", body: Array(json.utf8))
    }
}

/// The server's routes other than `POST /rpc`.
public struct RPCServerRoutes: Sendable {
    /// `GET /readyz`: true when every dependency answers.
    public var readiness: @Sendable () async -> Bool = { true }
    /// `GET /metrics`: Prometheus text exposition; nil answers 404 (e.g. on a public listener).
    public var metrics: (@Sendable () -> String)? = { "" }
    /// Any other `GET` path (the gateway's web UI); nil means 404.
    public var staticContent: @Sendable (_ path: String) -> HTTPPlainResponse? = { _ in nil }

    public init() {}
}
