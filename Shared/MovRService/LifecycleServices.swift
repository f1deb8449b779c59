import Dispatch
import FoundationEssentials
import Logging
import MovRRPCTransport
import MovRTLS
import NIOPosix
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// Runs an ``RPCServer`` as a lifecycle service: serve until graceful shutdown, then stop
/// accepting and let in-flight requests finish.
public struct RPCServerService: Service {
    let server: RPCServer
    let onListening: @Sendable (Int) -> Void

    public init(server: RPCServer, onListening: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.server = server
        self.onListening = onListening
    }

    public func run() async throws {
        let port = try await server.start()
        onListening(port)
        try? await gracefulShutdown()
        await server.shutdownGracefully()
    }
}

/// Re-reads certificate files so rotated certificates take effect without a restart: every
/// `interval` when a file changed (modification time or size), and at once, unconditionally, on
/// SIGHUP. A failed reload keeps the previous certificates and logs why.
public struct CertificateReloadService: Service {
    let providers: [TLSContextProvider]
    let interval: Duration
    let logger: Logger
    let reloadSignal: Int32?

    /// `reloadSignal` (SIGHUP by default; nil for none) forces a reload of every provider.
    public init(providers: [TLSContextProvider], interval: Duration, logger: Logger, reloadSignal: Int32? = SIGHUP) {
        self.providers = providers
        self.interval = interval
        self.logger = logger
        self.reloadSignal = reloadSignal
    }

    public func run() async throws {
        // Each wake-up says whether to reload unconditionally (signal) or only changed files (timer).
        let (wakeups, continuation) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(4))
        var source: (any DispatchSourceSignal)?
        if let reloadSignal {
            signal(reloadSignal, SIG_IGN)
            let signalSource = DispatchSource.makeSignalSource(signal: reloadSignal, queue: .global())
            signalSource.setEventHandler { continuation.yield(true) }
            signalSource.resume()
            source = signalSource
        }
        let interval = self.interval
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                continuation.yield(false)
            }
        }
        defer {
            source?.cancel()
            ticker.cancel()
        }
        await cancelWhenGracefulShutdown {
            for await forced in wakeups {
                reloadAll(forced: forced)
            }
        }
        continuation.finish()
    }

    private func reloadAll(forced: Bool) {
        for provider in providers {
            do {
                if forced {
                    try provider.reload()
                    logger.info("certificates reloaded (signal)")
                } else if try provider.reloadIfChanged() {
                    logger.info("certificates reloaded")
                }
            } catch {
                logger.error("certificate reload failed; keeping the previous certificates",
                             metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Runs `body` every `interval` until shutdown (reconcilers, outbox relays); with `finalPass`,
/// once more when a graceful shutdown ends the loop (flushes), while what it uses still runs.
public struct PeriodicService: Service {
    let name: String
    let interval: Duration
    let finalPass: Bool
    let logger: Logger
    let body: @Sendable () async throws -> Void

    public init(name: String, interval: Duration, finalPass: Bool = false, logger: Logger,
                body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.finalPass = finalPass
        self.logger = logger
        self.body = body
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await pass()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        if finalPass && !Task.isCancelled { await pass() }
    }

    private func pass() async {
        do {
            try await body()
        } catch {
            logger.warning("\(name) pass failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Opens connections once, at start, before calls need them: `connections` to each peer of the
/// executable's RPC clients (each TLS handshake done and one `GET /healthz` answered) and,
/// through `database`, to its database. After a start or a deploy the first burst of calls then
/// finds pools open instead of paying for handshakes and database logins while it queues (a
/// cold stack's first 0.1 s under 1 400 req/s had a p50 of 20–50 ms; docs/benchmarks.md). Nothing
/// waits for it: the listeners open at once, and a call before it is done opens what it needs.
/// A peer that does not answer yet (started after this executable) is tried again 0.5, 1, 2 and
/// 4 s later, then left to the calls. It returns when done; a service group must not end on it.
public struct WarmUpService: Service {
    let clients: RPCClients
    let connections: Int
    let database: @Sendable (Int) async -> Void
    let logger: Logger

    public init(clients: RPCClients, connections: Int, logger: Logger,
                database: @escaping @Sendable (Int) async -> Void) {
        self.clients = clients
        self.connections = connections
        self.database = database
        self.logger = logger
    }

    public func run() async throws {
        guard connections > 0 else { return }
        await cancelWhenGracefulShutdown { [self] in
            async let databaseWarmed: Void = database(connections)
            var cold = clients.all
            for delay in [0, 500, 1000, 2000, 4000] where !cold.isEmpty && !Task.isCancelled {
                if delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
                cold = await withTaskGroup(of: RPCClient?.self) { group in
                    for client in cold {
                        group.addTask {
                            await client.warm(connections: connections, deadline: .now + .seconds(5)) < connections ? client : nil
                        }
                    }
                    var still: [RPCClient] = []
                    for await client in group { if let client { still.append(client) } }
                    return still
                }
            }
            if !cold.isEmpty {
                logger.info("peers not warmed at start; calls will open their connections",
                            metadata: ["peers": "\(cold.map { "\($0.endpoint)" }.sorted())"])
            }
            await databaseWarmed
            logger.debug("connections warmed at start", metadata: ["peers": "\(clients.all.count - cold.count)",
                                                                    "connections": "\(connections)"])
        }
    }
}

/// A pool of worker threads (password hashing) that `prepare()` started, as a member of the
/// service group: it lives until the group shuts down, then stops its threads.
public struct WorkerThreadsService: Service {
    let pool: NIOThreadPool

    public init(pool: NIOThreadPool) {
        self.pool = pool
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try? await pool.shutdownGracefully()
    }
}

/// Stops the process gracefully when its parent (`movr up`) is gone, so a killed supervisor
/// never leaves services running.
struct ParentWatchService: Service {
    func run() async throws {
        let parent = getppid()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(500)) }
            if getppid() != parent {
                kill(getpid(), SIGTERM)
                return
            }
        }
    }
}
