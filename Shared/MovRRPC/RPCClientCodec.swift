import NIOCore

/// Builds request bodies for a JSON-RPC client.
public enum RPCRequestEncoder {
    /// A request object; a notification when `id` is `nil`.
    public static func encode(method: String, params: JSONValue?, id: RPCID?) -> [UInt8] {
        RPCRequest(method: method, params: params, id: id).jsonValue.serialized()
    }

    /// A request object with typed params.
    public static func encode(method: String, encoding params: some Encodable, id: RPCID?) throws -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 256)
        try encode(method: method, encoding: params, id: id, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// Writes a request object with typed params straight into `buffer` (``JSONByteEncoder``).
    public static func encode(method: String, encoding params: some Encodable, id: RPCID?,
                              into buffer: inout ByteBuffer) throws {
        buffer.writeStaticString(#"{"jsonrpc":"2.0","method":"#)
        JSONStringEscaping.write(method, to: &buffer)
        buffer.writeStaticString(#","params":"#)
        try JSONByteEncoder.encode(params, into: &buffer)
        if let id {
            buffer.writeStaticString(#","id":"#)
            id.jsonValue.write(to: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "}"))
    }
}

/// Reads response bodies for a JSON-RPC client.
public enum RPCResponseDecoder {
    /// The outcome of a single (non-batch) response: its `result`, or the server's error.
    ///
    /// - Parameter expectedID: when given, a response answering another id is malformed.
    /// - Throws: ``RPCError`` with code -32603 and reason `malformed_response` when the body is
    ///   not a valid JSON-RPC 2.0 response.
    public static func decode(
        body: [UInt8], expectedID: RPCID? = nil, limits: JSONLimits = JSONLimits()
    ) throws(RPCError) -> Result<JSONValue, RPCError> {
        let json: JSONValue
        do {
            json = try JSONValue.parse(body, limits: limits)
        } catch {
            throw malformed
        }
        guard case .object(let members) = json, members["jsonrpc"] == .string("2.0"),
              let rawID = members["id"], let id = RPCID(rawID)
        else { throw malformed }
        if let expectedID, id != expectedID, id != .null { throw malformed }

        switch (members["result"], members["error"]) {
        case (let result?, nil):
            return .success(result)
        case (nil, let error?):
            return .failure(try rpcError(from: error))
        default:
            throw malformed
        }
    }

    /// The error object of a response.
    static func rpcError(from error: JSONValue) throws(RPCError) -> RPCError {
        guard case .object(let error) = error, let code = error["code"]?.intValue,
              case .string(let message)? = error["message"]
        else { throw malformed }
        // Unknown `data` shapes from foreign servers are dropped rather than failing the call.
        let data = error["data"].flatMap { try? $0.decode(as: RPCErrorData.self, strict: false) }
        return RPCError(code: code, message: message, data: data)
    }

    private static var malformed: RPCError {
        RPCError(code: RPCError.Code.internalError, message: "Internal error", reason: "malformed_response")
    }
}

extension RPCResponseDecoder {
    /// The `result` of a success reply framed exactly as ``RPCDispatcher`` writes one for
    /// `id` — `{"jsonrpc":"2.0","result":`, the result, `,"id":`, the id, `}` — as bytes;
    /// `nil` for every other reply (errors, other spellings or member orders, other ids,
    /// whitespace), which ``decodeRaw(body:expectedID:limits:)`` then reads in full.
    ///
    /// Only the frame is checked: the result's first and last bytes must be able to open and
    /// close one JSON value (`{`…`}`, `[`…`]`, `"`…`"`, a literal, a number), nothing more. The
    /// result's own text is taken as the peer wrote it. That is for replies from MovR's own
    /// executables, whose peer certificate the caller has verified and whose results come from
    /// ``JSONByteWriter`` and ``JSONByteEncoder`` (valid JSON by construction): checking their
    /// grammar again cost the gateway about a tenth of its CPU per forwarded 25-row page.
    public static func framedResult(body: ByteBuffer, id: RPCID, maxBytes: Int) -> RawJSON? {
        guard case .number(let idText) = id, body.readableBytes <= maxBytes else { return nil }
        let prefix: StaticString = #"{"jsonrpc":"2.0","result":"#
        let idKey: StaticString = #","id":"#
        let prefixCount = prefix.utf8CodeUnitCount
        let suffixCount = idKey.utf8CodeUnitCount + idText.utf8.count + 1
        let resultCount = body.readableBytes - prefixCount - suffixCount
        guard resultCount > 0 else { return nil }
        let framed = body.withUnsafeReadableBytes { bytes -> Bool in
            guard bytes.starts(with: UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefixCount)) else {
                return false
            }
            var cursor = prefixCount + resultCount
            guard isOneValueAtItsEnds(UnsafeRawBufferPointer(rebasing: bytes[prefixCount..<cursor])) else { return false }
            for byte in UnsafeRawBufferPointer(start: idKey.utf8Start, count: idKey.utf8CodeUnitCount) {
                guard bytes[cursor] == byte else { return false }
                cursor += 1
            }
            for byte in idText.utf8 {
                guard bytes[cursor] == byte else { return false }
                cursor += 1
            }
            return bytes[cursor] == UInt8(ascii: "}")
        }
        guard framed, let result = body.getSlice(at: body.readerIndex + prefixCount, length: resultCount) else {
            return nil
        }
        return RawJSON(validated: result)
    }

    /// Whether `text` (not empty) opens and closes like one JSON value: a container or string
    /// by its first and last bytes, a number by a sign or digit first and a digit last, a
    /// literal exactly.
    private static func isOneValueAtItsEnds(_ text: UnsafeRawBufferPointer) -> Bool {
        let last = text[text.count - 1]
        switch text[0] {
        case UInt8(ascii: "{"): return last == UInt8(ascii: "}")
        case UInt8(ascii: "["): return last == UInt8(ascii: "]")
        case UInt8(ascii: "\""): return text.count >= 2 && last == UInt8(ascii: "\"")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return last &- UInt8(ascii: "0") <= 9
        default: return text.elementsEqual("true".utf8) || text.elementsEqual("false".utf8) || text.elementsEqual("null".utf8)
        }
    }

    /// The outcome of a single response with its `result` kept as bytes: the envelope is
    /// checked and the result's JSON validated (``JSONScanner``) but never built as a value.
    /// An `error` member is read as a value, as in ``decode(body:expectedID:limits:)``.
    public static func decodeRaw(
        body: ByteBuffer, expectedID: RPCID? = nil, limits: JSONLimits = JSONLimits()
    ) throws(RPCError) -> Result<RawJSON, RPCError> {
        guard body.readableBytes <= limits.maxBytes else { throw malformed }
        let envelope = body.withUnsafeReadableBytes { bytes -> Envelope? in
            var scanner = JSONScanner(input: bytes, maxDepth: limits.maxDepth)
            return try? scanEnvelope(&scanner)
        }
        guard let envelope, envelope.isVersion2 else { throw malformed }
        func slice(_ range: Range<Int>) -> ByteBuffer? {
            body.getSlice(at: body.readerIndex + range.lowerBound, length: range.count)
        }
        guard let idRange = envelope.id, let idBytes = slice(idRange),
              let idValue = try? JSONValue.parse(idBytes.readableBytesView, limits: limits),
              let id = RPCID(idValue)
        else { throw malformed }
        if let expectedID, id != expectedID, id != .null { throw malformed }

        switch (envelope.result, envelope.error) {
        case (let result?, nil):
            guard let bytes = slice(result) else { throw malformed }
            return .success(RawJSON(validated: bytes))
        case (nil, let error?):
            guard let bytes = slice(error), let value = try? JSONValue.parse(bytes.readableBytesView, limits: limits) else {
                throw malformed
            }
            return .failure(try rpcError(from: value))
        default:
            throw malformed
        }
    }

    private struct Envelope {
        var isVersion2 = false
        var id: Range<Int>?
        var result: Range<Int>?
        var error: Range<Int>?
    }

    private static func scanEnvelope(_ scanner: inout JSONScanner) throws(JSONScanner.Invalid) -> Envelope {
        var envelope = Envelope()
        try scanner.expect(UInt8(ascii: "{"))
        var first = true
        while true {
            if scanner.peek() == UInt8(ascii: "}") {
                guard first || envelope.id != nil || envelope.result != nil || envelope.error != nil else {
                    throw JSONScanner.Invalid()
                }
                _ = try scanner.expect(UInt8(ascii: "}"))
                break
            }
            if !first { try scanner.expect(UInt8(ascii: ",")) }
            first = false
            let key = try scanner.readSimpleString()
            try scanner.expect(UInt8(ascii: ":"))
            let value = try scanner.skipValue()
            guard let key else { continue }
            if key.elementsEqual("jsonrpc".utf8) {
                guard !envelope.isVersion2 else { throw JSONScanner.Invalid() }
                let text = UnsafeRawBufferPointer(rebasing: scanner.input[value])
                envelope.isVersion2 = text.elementsEqual(#""2.0""#.utf8)
            } else if key.elementsEqual("id".utf8) {
                guard envelope.id == nil else { throw JSONScanner.Invalid() }
                envelope.id = value
            } else if key.elementsEqual("result".utf8) {
                guard envelope.result == nil else { throw JSONScanner.Invalid() }
                envelope.result = value
            } else if key.elementsEqual("error".utf8) {
                guard envelope.error == nil else { throw JSONScanner.Invalid() }
                envelope.error = value
            }
        }
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw JSONScanner.Invalid() }
        return envelope
    }
}
