import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Routes JSON-RPC 2.0 request bodies to registered handlers and builds the response body.
///
/// Knows nothing of transports: a server hands it the body and a context and sends back what
/// it returns. Register every method before serving; the value is then shared read-only.
///
/// Results are encoded once, straight into bytes (``JSONByteEncoder``), right after the
/// handler returns; the response envelope is written around those bytes. A handler may return
/// ``RawJSON`` to hand over JSON it already holds (the gateway forwards service results so).
public struct RPCDispatcher: Sendable {
    public let limits: RPCLimits
    private var methods: [String: RegisteredMethod] = [:]
    /// Turns a handler's non-RPC error into an answer when it knows better than 500 (e.g. the
    /// database being unreachable is a retryable 503); `nil` from it means internal error.
    public var errorTranslator: (@Sendable (any Error) -> RPCError?)?

    private struct RegisteredMethod: Sendable {
        var allowedCallers: Set<String>?
        /// Decodes params, runs the handler and encodes its result as JSON text; throws
        /// ``RPCError`` for params that do not decode, and whatever the handler throws.
        var invoke: @Sendable (JSONValue?, RPCContext) async throws -> ByteBuffer
    }

    public init(limits: RPCLimits = RPCLimits()) {
        self.limits = limits
    }

    /// The names of the registered methods.
    public var methodNames: [String] { methods.keys.sorted() }

    /// The allow list of every registered method that has one, by method name.
    public var allowLists: [String: Set<String>] {
        methods.compactMapValues(\.allowedCallers)
    }

    /// Registers `method`. Params are decoded from the request's `params` JSON into `P` (absent
    /// params decode as `{}`), so a struct takes by-name params and `[T]` takes by-position ones.
    ///
    /// - Parameter allowedCallers: service identities allowed to call; `nil` allows anyone.
    public mutating func register<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ method: String,
        params: P.Type,
        allowedCallers: Set<String>? = nil,
        _ handler: @escaping @Sendable (P, RPCContext) async throws -> R
    ) {
        precondition(methods[method] == nil, "JSON-RPC method \(method) registered twice")
        // The size of this method's last result, plus an eighth: the next result's buffer starts
        // there, so a page of results is written into one allocation instead of growing through
        // 512 bytes, 1 KB, 2 KB... (capped at 1 MiB).
        let sizeHint = NIOLockedValueBox(512)
        let resultEncoder = JSONResultEncoder(R.self)
        methods[method] = RegisteredMethod(allowedCallers: allowedCallers) { params, context in
            let decoded: P
            do {
                decoded = try (params ?? .object([:])).decode(as: P.self)
            } catch {
                throw RPCError.invalidParams(field: (error as? DecodingError)?.fieldPath)
            }
            let result = try await handler(decoded, context)
            var encoded = ByteBufferAllocator().buffer(capacity: sizeHint.withLockedValue { $0 })
            do {
                try resultEncoder.encode(result, into: &encoded)
                let size = encoded.readableBytes
                sizeHint.withLockedValue { $0 = min(max(256, size + size / 8), 1 << 20) }
            } catch {
                context.logger.error("JSON-RPC result could not be encoded", metadata: [
                    "rpc_method": .string(method), "error": .string("\(error)"),
                ])
                throw RPCError.internalError
            }
            return encoded
        }
    }

    /// Runs `hook` after every successful call of the named (already registered) methods,
    /// before the result is sent; e.g. to add a reply header about what the call wrote.
    public mutating func afterSuccess(of names: [String], _ hook: @escaping @Sendable (RPCContext) async -> Void) {
        for name in names {
            guard let registered = methods[name] else {
                preconditionFailure("afterSuccess: JSON-RPC method \(name) is not registered")
            }
            let invoke = registered.invoke
            methods[name]?.invoke = { params, context in
                let result = try await invoke(params, context)
                await hook(context)
                return result
            }
        }
    }

    /// Handles one request body (a request object or a batch).
    ///
    /// - Returns: the response body, or `nil` when there is nothing to send (notifications
    ///   only; an HTTP transport answers 204).
    public func handle(body: ByteBuffer, context: RPCContext) async -> ByteBuffer? {
        guard body.readableBytes <= limits.maxBodyBytes else {
            return failure(.invalidRequest(reason: "body_too_large"), context: context)
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(body.readableBytesView, limits: limits.json)
        } catch {
            let reason = switch error.kind {
            case .nestingTooDeep: "nesting_too_deep"
            case .stringTooLong: "string_too_long"
            case .documentTooLarge: "body_too_large"
            default: "invalid_json"
            }
            return failure(.parseError(reason: reason), context: context)
        }

        switch document {
        case .object:
            guard let response = await handle(entry: document, context: context) else { return nil }
            var output = ByteBufferAllocator().buffer(capacity: response.encodedSizeHint)
            response.write(to: &output)
            return output
        case .array(let entries):
            if entries.isEmpty {
                return failure(.invalidRequest(reason: "empty_batch"), context: context)
            }
            if entries.count > limits.maxBatch {
                return failure(.invalidRequest(reason: "batch_too_large"), context: context)
            }
            return await handle(batch: entries, context: context)
        default:
            return failure(.invalidRequest(reason: "not_an_object"), context: context)
        }
    }

    /// Byte-array convenience over ``handle(body:context:)`` (tests, in-process callers).
    public func handle(body: [UInt8], context: RPCContext) async -> [UInt8]? {
        let reply = await handle(body: ByteBuffer(bytes: body), context: context)
        return reply.map { Array($0.readableBytesView) }
    }

    /// Runs the entries concurrently and answers in request order.
    private func handle(batch entries: [JSONValue], context: RPCContext) async -> ByteBuffer? {
        let responses = await withTaskGroup(of: (Int, EncodedResponse?).self) { group in
            for (position, entry) in entries.enumerated() {
                group.addTask { (position, await handle(entry: entry, context: context)) }
            }
            var responses = [EncodedResponse?](repeating: nil, count: entries.count)
            for await (position, response) in group {
                responses[position] = response
            }
            return responses.compactMap { $0 }
        }
        guard !responses.isEmpty else { return nil }
        var output = ByteBufferAllocator().buffer(capacity: responses.reduce(2) { $0 + $1.encodedSizeHint + 1 })
        output.writeInteger(UInt8(ascii: "["))
        for (position, response) in responses.enumerated() {
            if position > 0 { output.writeInteger(UInt8(ascii: ",")) }
            response.write(to: &output)
        }
        output.writeInteger(UInt8(ascii: "]"))
        return output
    }

    /// Handles one request object; `nil` for a notification.
    private func handle(entry: JSONValue, context: RPCContext) async -> EncodedResponse? {
        let request: RPCRequest
        do {
            request = try RPCRequest(validating: entry)
        } catch {
            return .failure(id: error.id, error: error.error.tagged(requestID: context.requestID))
        }
        let outcome = await call(request, context: context)
        guard let id = request.id else { return nil }
        switch outcome {
        case .success(let result):
            return .success(id: id, result: result)
        case .failure(let error):
            return .failure(id: id, error: error.tagged(requestID: context.requestID))
        }
    }

    private func call(_ request: RPCRequest, context: RPCContext) async -> Result<ByteBuffer, RPCError> {
        if context.isPastDeadline {
            return .failure(.deadlineExceeded())
        }
        guard let method = methods[request.method] else {
            return .failure(.methodNotFound(request.method))
        }
        if let allowed = method.allowedCallers {
            guard let caller = context.caller, allowed.contains(caller) else {
                context.logger.notice("caller not allowed", metadata: [
                    "rpc_method": .string(request.method), "caller": .string(context.caller ?? "-"),
                ])
                return .failure(.forbidden(reason: "caller_not_allowed"))
            }
        }
        do {
            return .success(try await method.invoke(request.params, context))
        } catch let error as RPCError {
            return .failure(error)
        } catch let error as any RPCErrorConvertible {
            return .failure(error.rpcError)
        } catch {
            // The transport cancels a handler whose caller went away or whose deadline passed.
            if error is CancellationError || Task.isCancelled {
                return .failure(.deadlineExceeded(reason: context.isPastDeadline ? "deadline_exceeded" : "cancelled"))
            }
            if let translated = errorTranslator?(error) {
                context.logger.warning("JSON-RPC handler failed", metadata: [
                    "rpc_method": .string(request.method), "error": .string("\(error)"),
                    "answer": .string("\(translated.code) \(translated.data?.reason ?? "")"),
                ])
                return .failure(translated)
            }
            context.logger.error("JSON-RPC handler failed", metadata: [
                "rpc_method": .string(request.method), "error": .string("\(error)"),
            ])
            return .failure(.internalError)
        }
    }

    private func failure(_ error: RPCError, context: RPCContext) -> ByteBuffer {
        var output = ByteBufferAllocator().buffer(capacity: 160)
        EncodedResponse.failure(id: .null, error: error.tagged(requestID: context.requestID)).write(to: &output)
        return output
    }
}

/// One response object whose result is already JSON text.
private enum EncodedResponse: Sendable {
    case success(id: RPCID, result: ByteBuffer)
    case failure(id: RPCID, error: RPCError)

    var encodedSizeHint: Int {
        switch self {
        case .success(_, let result): result.readableBytes + 48
        case .failure: 192
        }
    }

    func write(to output: inout ByteBuffer) {
        switch self {
        case .success(let id, var result):
            output.writeStaticString(#"{"jsonrpc":"2.0","result":"#)
            output.writeBuffer(&result)
            output.writeStaticString(#","id":"#)
            id.jsonValue.write(to: &output)
            output.writeInteger(UInt8(ascii: "}"))
        case .failure(let id, let error):
            output.writeStaticString(#"{"jsonrpc":"2.0","error":"#)
            error.jsonValue.write(to: &output)
            output.writeStaticString(#","id":"#)
            id.jsonValue.write(to: &output)
            output.writeInteger(UInt8(ascii: "}"))
        }
    }
}

extension DecodingError {
    /// The offending member as a dotted path with `[n]` indices, e.g. `stops[2].latitude`;
    /// `nil` when the params value as a whole has the wrong shape.
    public var fieldPath: String? {
        let path: [any CodingKey]
        switch self {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        @unknown default: return nil
        }
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                if !text.isEmpty { text += "." }
                text += key.stringValue
            }
        }
        return text.isEmpty ? nil : text
    }
}
