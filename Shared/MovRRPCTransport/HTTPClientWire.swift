import MovRRPC
import NIOCore

/// HTTP/1.1 as the RPC client speaks it to MovR servers: a request written as one buffer, and a
/// strict, incremental reply parser for what ``RPCServer`` sends (a status line, headers,
/// a `Content-Length` body).
///
/// NIO's general HTTP client codec turned every exchange into three pipeline writes of boxed
/// parts, a header dictionary of strings per reply and llhttp callbacks; the RPC client needs
/// six header names of one reply at a time from servers it knows. Anything outside that shape
/// (chunked or unframed bodies, folded or malformed headers, a head over 16 KiB) is refused:
/// the exchange fails and the connection closes, as for a connection lost mid-reply.
enum HTTPClientWire {
    /// Why a reply was refused.
    enum ReplyError: Error, Equatable, CustomStringConvertible {
        case malformedStatusLine
        case malformedHeader
        case headTooLarge
        case unsupportedFraming(String)
        case invalidContentLength

        var description: String {
            switch self {
            case .malformedStatusLine: "malformed HTTP status line"
            case .malformedHeader: "malformed HTTP header"
            case .headTooLarge: "HTTP reply head too large"
            case .unsupportedFraming(let what): "unsupported HTTP reply framing: \(what)"
            case .invalidContentLength: "invalid Content-Length"
            }
        }
    }

    static let maxHeadBytes = 16 * 1024

    /// Starts a request with its request line; add headers with ``HTTPWire``'s writers, then
    /// ``finishRequest(_:body:)``.
    static func startRequest(method: String, uri: String, capacity: Int) throws -> ByteBuffer {
        guard HTTPWire.isToken(method.utf8), !uri.isEmpty,
              uri.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPWire.InvalidHeader(name: "request line")
        }
        var buffer = ByteBufferAllocator().buffer(capacity: capacity)
        buffer.writeString(method)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(uri)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        return buffer
    }

    /// Ends the head and appends the body.
    static func finishRequest(_ buffer: inout ByteBuffer, body: ByteBuffer) {
        buffer.writeStaticString("\r\n")
        buffer.writeImmutableBuffer(body)
    }

    /// Reads replies from the bytes of one connection, one exchange at a time.
    struct ReplyParser {
        private struct Head {
            var status: Int
            var keepAlive: Bool
            var contentLength: Int
            var cost: String?
            var lsn: String?
            var serverTiming: String?
        }

        /// Bytes received and not yet consumed.
        private var pending: ByteBuffer?
        private var head: Head?
        /// How far the search for the head's end got in `pending` (bytes before it hold none).
        private var scanned = 0

        /// Takes `bytes` in; returns the reply once complete. `maxBodyBytes` applies to the
        /// declared length, so an oversized reply fails before its body is read.
        mutating func feed(_ bytes: inout ByteBuffer, maxBodyBytes: Int) throws -> ClientReply? {
            if pending == nil || pending!.readableBytes == 0 {
                pending = bytes
            } else {
                pending!.writeBuffer(&bytes)
            }
            bytes.moveReaderIndex(to: bytes.writerIndex)
            while true {
                if head == nil {
                    guard let parsed = try parseHead() else { return nil }
                    if parsed.status >= 100 && parsed.status < 200 {
                        // Interim (100 Continue etc.): the final reply follows.
                        guard parsed.status != 101 else { throw ReplyError.unsupportedFraming("101") }
                        continue
                    }
                    guard parsed.contentLength <= maxBodyBytes else { throw ClientTransportError.replyTooLarge }
                    head = parsed
                }
                guard let current = head, pending!.readableBytes >= current.contentLength else { return nil }
                let body = pending!.readSlice(length: current.contentLength)!
                head = nil
                scanned = 0
                // One exchange at a time: bytes after a complete reply answer nothing.
                let extra = pending!.readableBytes > 0
                pending = nil
                return ClientReply(status: current.status, body: body, reusable: current.keepAlive && !extra,
                                   cost: current.cost, lsn: current.lsn, serverTiming: current.serverTiming)
            }
        }

        private mutating func parseHead() throws -> Head? {
            guard let end = findHeadEnd() else {
                if pending!.readableBytes > maxHeadBytes { throw ReplyError.headTooLarge }
                return nil
            }
            guard end <= maxHeadBytes else { throw ReplyError.headTooLarge }
            let headBytes = pending!.readSlice(length: end)!
            pending!.moveReaderIndex(forwardBy: 4)
            scanned = 0
            return try headBytes.withUnsafeReadableBytes { try Self.parse(head: $0) }
        }

        /// Offset of `\r\n\r\n` from the reader index, resuming where the last search stopped.
        private mutating func findHeadEnd() -> Int? {
            pending!.withUnsafeReadableBytes { bytes -> Int? in
                var index = max(0, scanned - 3)
                while index + 3 < bytes.count {
                    if bytes[index + 3] == UInt8(ascii: "\n"), bytes[index] == UInt8(ascii: "\r"),
                       bytes[index + 1] == UInt8(ascii: "\n"), bytes[index + 2] == UInt8(ascii: "\r") {
                        return index
                    }
                    index += 1
                }
                scanned = bytes.count
                return nil
            }
        }

        private static func parse(head bytes: UnsafeRawBufferPointer) throws -> Head {
            var lines = LineIterator(bytes: bytes)
            guard let statusLine = lines.next() else { throw ReplyError.malformedStatusLine }
            // "HTTP/1.x NNN[ reason]"
            guard statusLine.count >= 12, statusLine.starts(with: "HTTP/1.".utf8),
                  let minor = digit(statusLine[statusLine.startIndex + 7]), minor <= 1,
                  statusLine[statusLine.startIndex + 8] == UInt8(ascii: " "),
                  statusLine.count == 12 || statusLine[statusLine.startIndex + 12] == UInt8(ascii: " ") else {
                throw ReplyError.malformedStatusLine
            }
            var status = 0
            for offset in 9..<12 {
                guard let value = digit(statusLine[statusLine.startIndex + offset]) else { throw ReplyError.malformedStatusLine }
                status = status * 10 + value
            }
            guard status >= 100 else { throw ReplyError.malformedStatusLine }
            var head = Head(status: status, keepAlive: minor == 1, contentLength: -1)
            var sawClose = false
            var sawKeepAlive = false
            while let line = lines.next() {
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")),
                      HTTPWire.isToken(line[line.startIndex..<colon]) else { throw ReplyError.malformedHeader }
                let name = line[line.startIndex..<colon]
                var value = line[(colon + 1)...]
                while let first = value.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { value = value.dropFirst() }
                while let last = value.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { value = value.dropLast() }
                guard !value.contains(where: { ($0 < 0x20 && $0 != UInt8(ascii: "\t")) || $0 == 0x7F }) else {
                    throw ReplyError.malformedHeader
                }
                if equalsLowercased(name, "content-length") {
                    guard !value.isEmpty, value.count <= 18, value.allSatisfy({ digit($0) != nil }) else {
                        throw ReplyError.invalidContentLength
                    }
                    let length = value.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
                    guard head.contentLength < 0 || head.contentLength == length else { throw ReplyError.invalidContentLength }
                    head.contentLength = length
                } else if equalsLowercased(name, "transfer-encoding") {
                    throw ReplyError.unsupportedFraming("transfer-encoding")
                } else if equalsLowercased(name, "connection") {
                    for option in value.split(separator: UInt8(ascii: ",")) {
                        let token = option.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
                        var trimmed = token[...]
                        while let last = trimmed.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { trimmed = trimmed.dropLast() }
                        if equalsLowercased(trimmed, "close") { sawClose = true }
                        if equalsLowercased(trimmed, "keep-alive") { sawKeepAlive = true }
                    }
                } else if equalsLowercased(name, RequestCost.header) {
                    head.cost = String(decoding: value, as: UTF8.self)
                } else if equalsLowercased(name, RPCHeader.lsn) {
                    head.lsn = String(decoding: value, as: UTF8.self)
                } else if equalsLowercased(name, "server-timing") {
                    // Joined as they come (a reply usually has one: no array for it).
                    let timing = String(decoding: value, as: UTF8.self)
                    head.serverTiming = head.serverTiming.map { $0 + ", " + timing } ?? timing
                }
            }
            if sawClose { head.keepAlive = false } else if sawKeepAlive { head.keepAlive = true }
            if status == 204 || status == 304 {
                head.contentLength = 0
            } else if head.contentLength < 0 {
                if status < 200 { head.contentLength = 0 } else { throw ReplyError.unsupportedFraming("no content-length") }
            }
            return head
        }

        private static func digit(_ byte: UInt8) -> Int? {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
        }

        /// ASCII case-insensitive comparison with a lower-case `name`.
        private static func equalsLowercased(_ bytes: Slice<UnsafeRawBufferPointer>, _ name: String) -> Bool {
            bytes.count == name.utf8.count && zip(bytes, name.utf8).allSatisfy { byte, expected in
                byte == expected || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") && byte | 0x20 == expected)
            }
        }
    }

    /// The CRLF-separated lines of a head (which holds no final empty line). A bare LF or CR
    /// inside a line is left in it, where the header checks refuse it.
    private struct LineIterator {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        mutating func next() -> Slice<UnsafeRawBufferPointer>? {
            guard position < bytes.count else { return nil }
            var index = position
            while index + 1 < bytes.count, !(bytes[index] == UInt8(ascii: "\r") && bytes[index + 1] == UInt8(ascii: "\n")) {
                index += 1
            }
            let end = index + 1 < bytes.count ? index : bytes.count
            defer { position = end + 2 }
            return bytes[position..<end]
        }
    }
}
