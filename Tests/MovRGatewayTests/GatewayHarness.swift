import Foundation
import Logging
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRService
import MovRTestSupport
import NIOPosix
import Testing
@testable import MovRGateway

/// The gateway's real public dispatcher (`PublicAPI`) in one region, its users, vehicles and
/// rides services in-process (``StandInServices``). Requests go straight to the dispatcher as
/// the HTTPS listener hands them over: no sockets.
struct GatewayHarness {
    let api: PublicAPI
    let dispatcher: RPCDispatcher
    let services: StandInServices

    static let localityPath = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/locality.json").path

    /// Signed-in callers the users stand-in knows, by bearer token.
    static let alice = User(id: UUID(uuidString: "6f1c2a0b-3d4e-4f50-8a6b-7c8d9e0f1a2b")!, username: "alice",
                            email: "alice@example.com", firstName: "Alice", lastName: "L", city: "boston",
                            region: "us-east1", createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    static let bob = User(id: UUID(uuidString: "0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9")!, username: "bob",
                          email: "bob@example.com", firstName: "Bob", lastName: "B", city: "rome",
                          region: "europe-west1", createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    static let admin = User(id: UUID(uuidString: "fedcba98-7654-4321-8fed-cba987654321")!, username: "root",
                            email: "root@example.com", firstName: "Root", lastName: "R", city: "seattle",
                            region: "us-west1", createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    static let sessions: [String: SessionResult] = [
        "alice-token": SessionResult(user: alice, roles: [], expiresAt: .now + 3600),
        "bob-token": SessionResult(user: bob, roles: [], expiresAt: .now + 3600),
        "admin-token": SessionResult(user: admin, roles: ["admin"], expiresAt: .now + 3600),
    ]

    /// Runs `body` against a gateway of `region`; `configuration` adds to its settings. The users
    /// stand-in answers `auth.session` (and `auth.sessions`, per token) for ``sessions`` and
    /// `401 invalid_token` otherwise.
    static func with(region: String = "us-east1", configuration: [String: String] = [:],
                     sessionChecksInFlight: Int = 1,
                     _ body: (GatewayHarness) async throws -> Void) async throws {
        var logger = Logger(label: "movr.test.gateway")
        logger.logLevel = .critical
        try await withTestCertificates { certificates in
            let ca = try certificates.makeAuthority(name: "movr")
            let gateway = try certificates.issue(commonName: "gateway", dnsNames: ["gateway.movr.internal"], by: ca)
            let settings = ServiceConfiguration(values: [
                "locality-config": localityPath,
                "region": region,
                "tls-ca": ca.certificatePath,
                "tls-cert": gateway.certificatePath,
                "tls-key": gateway.keyPath,
            ].merging(configuration) { _, given in given })
            let runtime = try ServiceRuntime(identity: .gateway, configuration: settings, logger: logger,
                                             eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            let services = StandInServices()
            services.answer(InternalMethod.Users.session) { params, _ in
                let token = (params as! SessionTokenParams).token
                guard let session = sessions[token] else { throw RPCError.unauthenticated(reason: "invalid_token") }
                return try JSONValue(encoding: session)
            }
            services.answer(InternalMethod.Users.sessions) { params, _ in
                let checks = (params as! SessionTokensParams).tokens.map { token in
                    sessions[token].map(SessionCheck.valid) ?? .refused(reason: "invalid_token")
                }
                return try JSONValue(encoding: SessionsResult(sessions: checks))
            }
            let api = PublicAPI(region: runtime.region, locality: runtime.locality,
                                homeRegionRouting: try runtime.configuration.value(GatewaySettings.homeRegionRouting),
                                sessionChecksInFlight: sessionChecksInFlight, logger: logger, connect: services.connector(gatewayRegion: region))
            try await body(GatewayHarness(api: api, dispatcher: api.dispatcher(), services: services))
        }
    }

    /// What a public call answered.
    struct Reply {
        var result: JSONValue?
        var error: JSONValue?
        /// Headers the gateway added to the reply, names as written.
        var headers: [(String, String)]
        /// `X-MovR-Region`: the regions whose services answered.
        var servedBy: String?

        var code: Int? { error?["code"]?.intValue }
        var reason: String? { error?["data"]?["reason"]?.stringValue }
        var field: String? { error?["data"]?["field"]?.stringValue }

        func header(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }
    }

    /// Sends one public request, as a client over HTTPS would (no caller identity), with
    /// `token` as its bearer token.
    func call(_ method: String, _ params: JSONValue = [:], token: String? = nil,
              headers: [String: String] = [:]) async throws -> Reply {
        var headers = headers
        if let token { headers["Authorization"] = "Bearer \(token)" }
        var context = RPCContext(caller: nil, headers: headers)
        let served = ServedRegions()
        context.servedBy = served
        let request: JSONValue = ["jsonrpc": "2.0", "id": 7, "method": .string(method), "params": params]
        let replyHeaders = RPCResponseHeaders()
        let body = await RPCResponseHeaders.$current.withValue(replyHeaders) {
            await dispatcher.handle(body: request.serialized(), context: context)
        }
        let reply = try JSONValue.parse(try #require(body))
        #expect(reply["id"] == 7)
        return Reply(result: reply["result"], error: reply["error"], headers: replyHeaders.all,
                     servedBy: served.headerValue)
    }
}

extension JSONValue {
    /// `value` as the JSON the server would send for it.
    init(encoding value: some Encodable) throws {
        self = try JSONValue.parse(try JSONByteEncoder.encode(value))
    }
}
