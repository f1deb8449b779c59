import COpenSSL

/// A TLS failure: an open `code`, a short message and the OpenSSL error queue at the time.
///
/// Nothing here carries key material; the OpenSSL strings name reasons such as
/// "certificate verify failed", never secrets.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    /// An open set of error kinds; new codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Certificates, keys or trust roots could not be loaded or do not fit together.
        public static let configuration = Code("configuration")
        /// The handshake failed for a reason other than certificate verification.
        public static let handshakeFailed = Code("handshakeFailed")
        /// The peer's certificate chain or name did not verify.
        public static let certificateVerifyFailed = Code("certificateVerifyFailed")
        /// The TLS session failed after the handshake (fatal alert, corrupt record, ...).
        public static let io = Code("io")
        /// A key or certificate could not be generated or encoded.
        public static let generation = Code("generation")
    }

    public var code: Code
    public var message: String
    /// OpenSSL's error queue, oldest first, as `ERR_error_string_n` renders it.
    public var openSSLErrors: [String]

    public init(code: Code, message: String, openSSLErrors: [String] = []) {
        self.code = code
        self.message = message
        self.openSSLErrors = openSSLErrors
    }

    public var description: String {
        var text = "TLSError(\(code)): \(message)"
        if !openSSLErrors.isEmpty {
            text += " [" + openSSLErrors.joined(separator: "; ") + "]"
        }
        return text
    }

    /// Builds an error from OpenSSL's thread-local error queue and empties it.
    public static func fromQueue(_ code: Code, _ message: String) -> TLSError {
        TLSError(code: code, message: message, openSSLErrors: OpenSSLErrorQueue.drain())
    }
}

/// OpenSSL keeps errors in a thread-local queue; stale entries would be blamed on the next
/// call, so every call site clears it first and drains it on failure (certificate generation in
/// MovRDevTools too).
public enum OpenSSLErrorQueue {
    public static func clear() {
        // Peeking is the cheap check: clearing walks every slot of the queue, and it is nearly
        // always empty here (this runs before every SSL_read and SSL_write).
        if ERR_peek_error() != 0 { ERR_clear_error() }
    }

    public static func drain() -> [String] {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages
    }
}
