import Logging
import MovRRPCTransport
import MovRTLS
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

/// Re-reads certificate files periodically so rotated certificates take effect without a
/// restart; a failed reload keeps the previous certificates and logs why.
public struct CertificateReloadService: Service {
    let providers: [TLSContextProvider]
    let interval: Duration
    let logger: Logger

    public init(providers: [TLSContextProvider], interval: Duration, logger: Logger) {
        self.providers = providers
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            for provider in providers {
                do {
                    if try provider.reloadIfChanged() {
                        logger.info("certificates reloaded")
                    }
                } catch {
                    logger.error("certificate reload failed; keeping the previous certificates",
                                 metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// Runs `body` every `interval` until shutdown (reconcilers, outbox relays).
public struct PeriodicService: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let body: @Sendable () async throws -> Void

    public init(name: String, interval: Duration, logger: Logger, body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.body = body
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await body()
            } catch {
                logger.warning("\(name) pass failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
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
