import Foundation
import Logging
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import MovRService
import NIOConcurrencyHelpers
import NIOCore
@testable import MovRGateway

/// One internal call the gateway made, as the service received it.
struct ServiceCall: Sendable {
    var service: InternalService
    var region: String
    var method: String
    /// The params object as sent (the in-process transport encodes them as the RPC client does).
    var params: JSONValue
    /// Request headers, names lowercased.
    var headers: RequestHeaders
}

/// What a stand-in method answers: a result, or a thrown error (an ``RPCError`` goes back to
/// the gateway as the service's JSON-RPC error). Receives the params decoded into the
/// contract's type.
typealias StandInAnswer = @Sendable (_ params: any Sendable, _ context: RPCContext) async throws -> JSONValue

/// The users, vehicles and rides services of every region as in-process stand-ins: each is a
/// real ``RPCDispatcher`` registering every internal method of its service from
/// `InternalMethod.table` as the services do, with that method's params type (decoded strictly,
/// so params the gateway builds wrong are refused with -32602) and its allow list (a method the
/// gateway may not call is refused with 403). Answers are scripted per method; every call is
/// recorded.
final class StandInServices: Sendable {
    private let calls = NIOLockedValueBox<[ServiceCall]>([])
    private let answers: NIOLockedValueBox<[String: StandInAnswer]>
    /// Regions with no address in the gateway's deployment (their cities are served locally).
    private let absentRegions = NIOLockedValueBox<Set<String>>([])
    /// Regions whose services cannot be reached (as a connection refused: nothing is sent), and
    /// every call the gateway tried to send to them.
    private let downRegions = NIOLockedValueBox<Set<String>>([])
    private let unsent = NIOLockedValueBox<[ServiceCall]>([])
    private let dispatchers: [InternalService: RPCDispatcher]

    init() {
        var dispatchers: [InternalService: RPCDispatcher] = [:]
        for service in InternalService.allCases {
            dispatchers[service] = RPCDispatcher()
        }
        let answers = NIOLockedValueBox<[String: StandInAnswer]>([:])
        for entry in InternalMethod.table {
            Self.register(entry.paramsType, entry.name, of: entry.service, in: &dispatchers[entry.service]!,
                          answers: answers)
        }
        self.dispatchers = dispatchers
        self.answers = answers
    }

    private static func register<P: Decodable & Sendable>(
        _ type: P.Type, _ method: String, of service: InternalService, in dispatcher: inout RPCDispatcher,
        answers: NIOLockedValueBox<[String: StandInAnswer]>
    ) {
        dispatcher.register(method, of: service, params: P.self) { params, context in
            guard let answer = answers.withLockedValue({ $0[method] }) else {
                // An answer the test did not script: any valid result shape the gateway forwards.
                return JSONValue.object([:])
            }
            return try await answer(params, context)
        }
    }

    /// Scripts the answer of `method` (every service and region answer it the same way).
    func answer(_ method: String, _ answer: @escaping StandInAnswer) {
        answers.withLockedValue { $0[method] = answer }
    }

    func makeUnreachable(region: String) {
        absentRegions.withLockedValue { _ = $0.insert(region) }
    }

    func bringDown(region: String) {
        downRegions.withLockedValue { _ = $0.insert(region) }
    }

    func bringUp(region: String) {
        downRegions.withLockedValue { _ = $0.remove(region) }
    }

    func isDown(_ region: String) -> Bool { downRegions.withLockedValue { $0.contains(region) } }

    /// Calls tried while their region was down (never delivered).
    var unsentCalls: [ServiceCall] { unsent.withLockedValue { $0 } }

    fileprivate func recordUnsent(_ call: ServiceCall) {
        unsent.withLockedValue { $0.append(call) }
    }

    /// Every call so far, in the order they were made.
    var recorded: [ServiceCall] { calls.withLockedValue { $0 } }

    func recorded(_ method: String) -> [ServiceCall] { recorded.filter { $0.method == method } }

    func reset() { calls.withLockedValue { $0.removeAll() } }

    /// The gateway's ``ServiceConnector`` for a gateway in `gatewayRegion`.
    func connector(gatewayRegion: String) -> ServiceConnector {
        { [self] identity, region in
            let region = region ?? gatewayRegion
            guard !absentRegions.withLockedValue({ $0.contains(region) }) else {
                throw ConfigurationError(message: "no address for \(identity.rawValue) in \(region)")
            }
            guard let service = InternalService(rawValue: identity.rawValue), let dispatcher = dispatchers[service] else {
                throw ConfigurationError(message: "\(identity.rawValue) is not an internal service")
            }
            return InProcessCaller(service: service, region: region, dispatcher: dispatcher, services: self)
        }
    }

    fileprivate func record(_ call: ServiceCall) {
        calls.withLockedValue { $0.append(call) }
    }
}

/// The in-process transport: what ``RPCClient`` sends over mutual TLS, handed to the service's
/// dispatcher directly. The request is encoded as the client encodes it, the context carries the
/// caller identity the gateway's certificate would give (`gateway`), the request id, deadline and
/// headers; the reply is decoded as the client decodes it, and its `X-MovR-LSN` reaches the
/// caller's ``RPCReplyMetadata`` as the client's does.
struct InProcessCaller: ServiceCaller {
    let service: InternalService
    let region: String
    let dispatcher: RPCDispatcher
    let services: StandInServices

    func callRaw<Params: Encodable & Sendable>(_ method: String, params: Params,
                                               options: RPCCallOptions) async throws -> RawJSON {
        var body = ByteBufferAllocator().buffer(capacity: 256)
        try RPCRequestEncoder.encode(method: method, encoding: params, id: RPCID(1), into: &body)
        let sent = try JSONValue.parse(body.readableBytesView)
        let headers = RequestHeaders(options.headers.map { (name: $0.0.lowercased(), value: $0.1) })
        let call = ServiceCall(service: service, region: region, method: method, params: sent["params"] ?? .null,
                               headers: headers)
        if services.isDown(region) {
            services.recordUnsent(call)
            if options.reportUnreachable {
                throw RPCUnreachableError(endpoint: "\(service.rawValue)@\(region)", underlying: "connection refused")
            }
            throw RPCError.unavailable(reason: "upstream_unavailable")
        }
        services.record(call)
        let context = RPCContext(requestID: options.requestID, caller: ServiceIdentity.gateway.rawValue,
                                 lowercasedHeaders: headers, deadline: options.deadline, logger: Logger(label: "movr.test.stand-in"))
        let replyHeaders = RPCResponseHeaders()
        let reply = await RPCResponseHeaders.$current.withValue(replyHeaders) {
            await dispatcher.handle(body: body, context: context)
        }
        if let metadata = RPCReplyMetadata.current,
           let lsn = replyHeaders.all.last(where: { $0.0.lowercased() == RPCHeader.lsn })?.1 {
            metadata.lsn = lsn
        }
        guard let reply else { return RawJSON(validated: ByteBuffer(staticString: "null")) }
        switch try RPCResponseDecoder.decodeRaw(body: reply) {
        case .success(let result): return result
        case .failure(let error): throw error
        }
    }
}
