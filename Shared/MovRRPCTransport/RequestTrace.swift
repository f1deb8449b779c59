import FoundationEssentials
import Glibc
import MovRCrypto
import NIOCore
import Synchronization

/// The request id that follows one client request through every executable.
///
/// It travels as a W3C `traceparent` header (`00-<32 hex trace id>-<16 hex span id>-01`); the trace
/// id is the request id. `X-Request-Id` is accepted from clients that do not speak traceparent.
public enum RequestTrace {
    /// A fresh 128-bit request id in lowercase hex.
    public static func newRequestID() -> String {
        randomHex(byteCount: 16)
    }

    /// The `traceparent` header line carrying `requestID` with a fresh span id
    /// (`00-<request id>-<16 hex>-01`), written straight into a request being built: every
    /// internal call sends one, and building the value as a string cost allocations per call.
    static func writeTraceparentHeader(requestID: String, into buffer: inout ByteBuffer) throws {
        guard HTTPWire.isSendableValue(requestID) else { throw HTTPWire.InvalidHeader(name: RPCHeader.traceparent) }
        buffer.writeString(RPCHeader.traceparent)
        buffer.writeStaticString(": 00-")
        buffer.writeString(requestID)
        buffer.writeInteger(UInt8(ascii: "-"))
        withUnsafeTemporaryAllocation(byteCount: 8, alignment: 1) { random in
            RandomBytes.shared.fill(random)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16) { Hex.write(UnsafeRawBufferPointer(random), to: $0) }
        }
        buffer.writeStaticString("-01\r\n")
    }

    /// `byteCount` random bytes in lowercase hex, from ``RandomBytes``.
    private static func randomHex(byteCount: Int) -> String {
        withUnsafeTemporaryAllocation(byteCount: byteCount, alignment: 1) { random in
            RandomBytes.shared.fill(random)
            return Hex.encode(UnsafeRawBufferPointer(random))
        }
    }

    /// The request id from incoming headers, or nil when none is usable.
    /// Only well-formed values are taken, so a client cannot inject text into our logs.
    public static func requestID(traceparent: String?, requestIDHeader: String?) -> String? {
        if let traceparent, let id = traceID(traceparent) {
            return id
        }
        if let header = requestIDHeader, (1...64).contains(header.utf8.count),
           header.utf8.allSatisfy({ isSafeIDByte($0) }) {
            return header
        }
        return nil
    }

    /// The trace id of a `traceparent` value — `<2 version>-<32 hex trace id>-<16 span>-<flags>`,
    /// exactly three dashes, the id ASCII hex (either case) and not all zeros — in lower case;
    /// nil for anything else. Read in place: every internal request carries one.
    static func traceID(_ traceparent: String) -> String? {
        let idStart = 3, idEnd = 35, spanEnd = 52
        var traceparent = traceparent
        return traceparent.withUTF8 { bytes -> String? in
            let dash = UInt8(ascii: "-")
            guard bytes.count > spanEnd, bytes[2] == dash, bytes[idEnd] == dash, bytes[spanEnd] == dash,
                  !bytes[0..<2].contains(dash), !bytes[(idEnd + 1)..<spanEnd].contains(dash),
                  !bytes[(spanEnd + 1)...].contains(dash) else { return nil }
            var allZero = true
            for byte in bytes[idStart..<idEnd] {
                switch byte {
                case UInt8(ascii: "0"): break
                case UInt8(ascii: "1")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                     UInt8(ascii: "A")...UInt8(ascii: "F"): allZero = false
                default: return nil
                }
            }
            guard !allZero else { return nil }
            return String(unsafeUninitializedCapacity: idEnd - idStart) { output in
                for (index, byte) in bytes[idStart..<idEnd].enumerated() {
                    output[index] = (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) ? byte | 0x20 : byte
                }
                return idEnd - idStart
            }
        }
    }

    private static func isSafeIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}

/// Header names shared by the server and the client.
public enum RPCHeader {
    public static let traceparent = "traceparent"
    public static let requestID = "x-request-id"
    /// Milliseconds the caller is still willing to wait; relative, so clocks need not agree.
    public static let deadline = "x-movr-deadline-ms"
    /// On public replies: the regions whose services answered, comma-separated.
    public static let servedByRegion = "x-movr-region"
    /// On public answers: the region of the gateway that answered.
    public static let gatewayRegion = "x-movr-gateway-region"
    /// On a reply: the primary's WAL position after the write it answers (with replicas).
    public static let lsn = "x-movr-lsn"
    /// On a request: read nothing older than this WAL position (read-your-writes on replicas).
    public static let minimumLSN = "x-movr-min-lsn"
}

/// Random bytes for ids, drawn from the kernel (`arc4random_buf`: glibc's `getrandom`) 512 at a
/// time and handed out in order, each byte once. A request needs 24 (its id and a span id): one
/// system call per ~21 requests instead of two per request. Not for secrets (tokens and keys
/// come from OpenSSL, `SecureRandom`); ids only need to be unpredictable and unique.
final class RandomBytes: Sendable {
    static let shared = RandomBytes()

    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: 512)
        var used = 512
    }

    private let pool = Mutex(Pool())

    /// Fills `buffer`; a request larger than the pool is served straight from the kernel.
    func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        pool.withLock { pool in
            guard buffer.count <= pool.bytes.count else {
                arc4random_buf(base, buffer.count)
                return
            }
            if pool.bytes.count - pool.used < buffer.count {
                pool.bytes.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
                pool.used = 0
            }
            pool.bytes.withUnsafeBytes { bytes in
                base.copyMemory(from: bytes.baseAddress! + pool.used, byteCount: buffer.count)
            }
            pool.used += buffer.count
        }
    }
}
