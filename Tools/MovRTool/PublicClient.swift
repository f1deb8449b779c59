import Foundation
import Logging
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import MovRTLS
import NIOPosix

/// A client of the public API (and, with the operator certificate, of internal methods) for the
/// tools: demo data, load generation, checks.
public struct PublicClient: Sendable {
    let client: RPCClient

    /// `gatewayURL` is verified against the CA at `caPath`; the operator certificate is presented
    /// when given (the public listener does not require it). `maxConnections` bounds the
    /// keep-alive pool (load generation raises it to its concurrency); `idleTimeout` must stay
    /// below the gateway's idle timeout (`MOVR_PUBLIC_IDLE_TIMEOUT_SECONDS`) so the pool never
    /// reuses a connection the gateway is closing.
    public init(url: String, serverName: String? = nil, caPath: String, clientCertificate: (String, String)? = nil,
                maxConnections: Int? = nil, idleTimeout: Duration? = nil, logger: Logger) throws {
        let tls = try TLSContextProvider(
            configuration: TLSConfiguration(certificateChainPath: clientCertificate?.0,
                                            privateKeyPath: clientCertificate?.1,
                                            trustRootsPath: caPath),
            role: .client)
        var configuration = RPCClientConfiguration()
        if let maxConnections { configuration.maxConnections = max(configuration.maxConnections, maxConnections) }
        if let idleTimeout { configuration.idleTimeout = idleTimeout }
        client = RPCClient(endpoint: try RPCEndpoint(url: url, serverName: serverName), tls: tls,
                           eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration,
                           logger: logger)
    }

    /// Opens keep-alive connections until `connections` are ready in the pool (handshakes done),
    /// within 10 s; see ``RPCClient/warm(connections:deadline:)``.
    @discardableResult
    public func warm(connections: Int) async -> Int {
        await client.warm(connections: connections, deadline: .now + .seconds(10))
    }

    public func call<P: Encodable & Sendable, R: Decodable>(
        _ method: String, _ params: P, as: R.Type = R.self, token: String? = nil, city: String? = nil,
        idempotent: Bool = false, headers extraHeaders: [(String, String)] = [], reportUnreachable: Bool = false
    ) async throws -> R {
        try await client.call(method, params: params, as: R.self,
                              options: Self.options(token: token, city: city, idempotent: idempotent,
                                                    headers: extraHeaders, reportUnreachable: reportUnreachable))
    }

    /// ``call(_:_:as:token:city:idempotent:headers:reportUnreachable:)`` without decoding: the
    /// reply is checked to be a JSON-RPC result (not an error) holding one well-formed JSON
    /// value, which is returned as bytes. For load that only needs to know a call succeeded,
    /// checked as `wrk`'s script checks it, so the client's own decoding does not share the
    /// cores with what is measured.
    public func callUnparsed<P: Encodable & Sendable>(
        _ method: String, _ params: P, token: String? = nil, city: String? = nil, idempotent: Bool = false,
        reportUnreachable: Bool = false
    ) async throws -> RawJSON {
        try await client.callRaw(method, params: params,
                                 options: Self.options(token: token, city: city, idempotent: idempotent,
                                                       headers: [], reportUnreachable: reportUnreachable))
    }

    private static func options(token: String?, city: String?, idempotent: Bool, headers extraHeaders: [(String, String)],
                                reportUnreachable: Bool) -> RPCCallOptions {
        var headers = extraHeaders
        if let token { headers.append(("authorization", "Bearer \(token)")) }
        if let city { headers.append(("x-city", city)) }
        var options = RPCCallOptions(deadline: .now + .seconds(30), idempotent: idempotent, headers: headers)
        // RPCUnreachableError instead of 503 when no attempt was sent (the gateway never saw it).
        options.reportUnreachable = reportUnreachable
        return options
    }

    /// ``call(_:_:as:token:city:idempotent:headers:)`` and what the reply's headers said:
    /// `X-MovR-LSN` after a write, and the service calls in the gateway's `Server-Timing`
    /// (its own `gateway` total left out).
    public func callReportingHeaders<P: Encodable & Sendable, R: Decodable>(
        _ method: String, _ params: P, as: R.Type = R.self, token: String? = nil, city: String? = nil,
        idempotent: Bool = false, headers: [(String, String)] = []
    ) async throws -> (result: R, lsn: String?, serverTiming: [ServerTiming]) {
        let metadata = RPCReplyMetadata()
        let result = try await RPCReplyMetadata.$current.withValue(metadata) {
            try await call(method, params, as: R.self, token: token, city: city, idempotent: idempotent, headers: headers)
        }
        return (result, metadata.lsn, ServerTiming.parse(metadata.serverTiming ?? "").filter(\.isServiceCall))
    }

    public func shutdown() async {
        await client.shutdown()
    }

    /// Runs `call` again while the API answers with an error it marks retryable (a throttle's
    /// 429, a shed hash's 503: nothing was done), with growing, jittered pauses, until `patience`
    /// has passed. What a well-behaved client does when it sets up many accounts at once.
    public static func retryingWhenAsked<T>(patience: Duration = .seconds(120),
                                            _ call: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + patience
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await call()
            } catch let error as RPCError where error.data?.retryable == true && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(min(100 * attempt, 2_000) + Int.random(in: 0..<100)))
            }
        }
    }
}

/// One `Server-Timing` entry of a gateway reply: `remote;desc="us-east1 movr.vehicles.list";dur=68.4`.
public struct ServerTiming: Sendable, Equatable {
    public var name: String
    public var description: String
    public var milliseconds: Double

    public var isRemote: Bool { name == "remote" }
    /// A call to a service (`local` or `remote`), not the gateway's own total (`gateway`).
    public var isServiceCall: Bool { name == "local" || name == "remote" }

    /// Entries separated by commas; unreadable ones are skipped.
    public static func parse(_ header: String) -> [ServerTiming] {
        var entries: [ServerTiming] = []
        var current = ""
        var quoted = false
        for character in header + "," {
            if character == "\"" { quoted.toggle() }
            if character == ",", !quoted {
                if let entry = entry(current) { entries.append(entry) }
                current = ""
            } else {
                current.append(character)
            }
        }
        return entries
    }

    private static func entry(_ text: String) -> ServerTiming? {
        let parts = text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let name = parts.first, !name.isEmpty else { return nil }
        var entry = ServerTiming(name: name, description: "", milliseconds: 0)
        var sawDuration = false
        for part in parts.dropFirst() {
            if part.hasPrefix("desc=") {
                entry.description = String(part.dropFirst(5)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            } else if part.hasPrefix("dur="), let value = Double(part.dropFirst(4)) {
                entry.milliseconds = value
                sawDuration = true
            }
        }
        return sawDuration ? entry : nil
    }
}
