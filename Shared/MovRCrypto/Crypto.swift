import COpenSSL

/// The cryptography MovR itself performs, from libcrypto, in one place: digests, random bytes,
/// constant-time comparison, scrypt, hex. (TLS is MovRTLS's.) Every call's return code is
/// checked; failures are thrown, never trapped, and name only the operation, never its inputs.
public struct CryptoError: Error, Sendable, Hashable, CustomStringConvertible {
    public var operation: String

    public init(operation: String) {
        self.operation = operation
    }

    public var description: String { "libcrypto \(operation) failed" }
}

public enum SHA256 {
    /// The 32-byte SHA-256 digest of `input` (no copy when its bytes are contiguous, as a
    /// native string's UTF-8 and arrays are).
    public static func hash(_ input: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
        let digest = input.withContiguousStorageIfAvailable(hash(bytes:)) ?? Array(input).withUnsafeBufferPointer(hash(bytes:))
        guard let digest else { throw CryptoError(operation: "EVP_Digest") }
        return digest
    }

    /// The digest, or nil when libcrypto fails. Every session check and every idempotent create
    /// hashes once: the algorithm is fetched once (with `EVP_sha256()`, `EVP_Digest` looked it up
    /// in the provider's tables on each call: about half of its profile samples on a ride id's
    /// input in the rides service).
    private static func hash(bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let algorithm = FetchedDigest.sha256.algorithm else { return nil }
        var succeeded = false
        let digest = [UInt8](unsafeUninitializedCapacity: Int(EVP_MAX_MD_SIZE)) { buffer, count in
            var length: UInt32 = 0
            succeeded = EVP_Digest(bytes.baseAddress, bytes.count, buffer.baseAddress, &length, algorithm, nil) == 1
                && length == 32
            // Only the bytes libcrypto wrote count as initialized.
            count = succeeded ? 32 : 0
        }
        return succeeded ? digest : nil
    }
}

/// A digest algorithm fetched from libcrypto's default provider once per process. A fetched
/// `EVP_MD` is immutable and may be shared by threads; it lives as long as the process.
final class FetchedDigest: @unchecked Sendable {
    static let sha256 = FetchedDigest(name: "SHA256")

    /// Nil when the provider has no such algorithm (each use then fails as `EVP_Digest`).
    let algorithm: OpaquePointer?

    private init(name: String) {
        algorithm = EVP_MD_fetch(nil, name, nil)
    }
}

public enum SecureRandom {
    /// `count` bytes from OpenSSL's CSPRNG.
    public static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        guard count > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let status = bytes.withUnsafeMutableBufferPointer { buffer in
            RAND_bytes(buffer.baseAddress, Int32(clamping: buffer.count))
        }
        guard status == 1 else { throw CryptoError(operation: "RAND_bytes") }
        return bytes
    }
}

public enum ConstantTime {
    /// Compares in time that depends only on the lengths (which are public), not the contents.
    public static func equal(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard !lhs.isEmpty else { return true }
        return lhs.withUnsafeBufferPointer { left in
            rhs.withUnsafeBufferPointer { right in
                CRYPTO_memcmp(left.baseAddress, right.baseAddress, left.count) == 0
            }
        }
    }
}

public enum Hex {
    /// Lowercase hexadecimal, two digits per byte, written straight into the string's storage
    /// (the gateway makes one per request id).
    ///
    /// The loop runs over raw bytes, not the generic collection: called from another module the
    /// generic version is not specialized, and iterating it allocated once per byte (a session
    /// lookup's 32-byte hash cost 32 allocations).
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        if let text = bytes.withContiguousStorageIfAvailable({ encode(UnsafeRawBufferPointer($0)) }) {
            return text
        }
        return Array(bytes).withUnsafeBytes { encode($0) }
    }

    /// Lowercase hexadecimal of raw bytes.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { write(bytes, to: UnsafeMutableRawBufferPointer($0)) }
    }

    /// Writes the lowercase hexadecimal of `bytes` at the start of `output` (which must hold
    /// twice as many bytes) and returns how many it wrote: for callers that put the digits
    /// straight into a buffer of their own.
    public static func write(_ bytes: UnsafeRawBufferPointer, to output: UnsafeMutableRawBufferPointer) -> Int {
        precondition(output.count >= bytes.count * 2, "hex output too small")
        let digits: StaticString = "0123456789abcdef"
        return digits.withUTF8Buffer { digits in
            var index = 0
            for byte in bytes {
                output[index] = digits[Int(byte >> 4)]
                output[index + 1] = digits[Int(byte & 0x0f)]
                index += 2
            }
            return index
        }
    }
}

public enum ScryptKDF {
    /// scrypt (RFC 7914) of `password` and `salt` with N = 2^`log2N`, `r`, `p`, allowing libcrypto
    /// `maxMemory` bytes. CPU- and memory-heavy and blocking: run it on a thread of its own. The
    /// copy of the password made here is wiped afterwards.
    public static func deriveKey(password: String, salt: [UInt8], log2N: Int, r: Int, p: Int, maxMemory: UInt64,
                                 keyLength: Int) throws(CryptoError) -> [UInt8] {
        guard (1...63).contains(log2N), r > 0, p > 0, keyLength > 0 else { throw CryptoError(operation: "EVP_PBE_scrypt") }
        var passwordBytes = Array(password.utf8)
        defer { OPENSSL_cleanse(&passwordBytes, passwordBytes.count) }
        var key = [UInt8](repeating: 0, count: keyLength)
        let status = passwordBytes.withUnsafeBufferPointer { passwordBuffer in
            passwordBuffer.withMemoryRebound(to: CChar.self) { passwordChars in
                salt.withUnsafeBufferPointer { saltBuffer in
                    key.withUnsafeMutableBufferPointer { keyBuffer in
                        EVP_PBE_scrypt(passwordChars.baseAddress, passwordChars.count,
                                       saltBuffer.baseAddress, saltBuffer.count,
                                       UInt64(1) << UInt64(log2N), UInt64(r), UInt64(p), maxMemory,
                                       keyBuffer.baseAddress, keyBuffer.count)
                    }
                }
            }
        }
        guard status == 1 else { throw CryptoError(operation: "EVP_PBE_scrypt") }
        return key
    }
}

public enum HMACSHA256 {
    /// HMAC-SHA-256 of `message` under `key` (32 bytes).
    public static func authenticate(_ message: [UInt8], key: [UInt8]) throws(CryptoError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard HMAC(EVP_sha256(), key, Int32(clamping: key.count), message, message.count, &output, &length) != nil,
              length == 32 else {
            throw CryptoError(operation: "HMAC")
        }
        return Array(output.prefix(32))
    }
}

public enum PBKDF2SHA256 {
    /// PBKDF2 with HMAC-SHA-256 (RFC 8018) of `password` and `salt`, `iterations` rounds.
    public static func deriveKey(password: [UInt8], salt: [UInt8], iterations: Int,
                                 keyLength: Int) throws(CryptoError) -> [UInt8] {
        guard iterations > 0, keyLength > 0 else { throw CryptoError(operation: "PKCS5_PBKDF2_HMAC") }
        var key = [UInt8](repeating: 0, count: keyLength)
        let status = password.withUnsafeBufferPointer { passwordBuffer in
            passwordBuffer.withMemoryRebound(to: CChar.self) { passwordChars in
                PKCS5_PBKDF2_HMAC(passwordChars.baseAddress, Int32(clamping: passwordChars.count), salt,
                                  Int32(clamping: salt.count), Int32(clamping: iterations), EVP_sha256(),
                                  Int32(clamping: keyLength), &key)
            }
        }
        guard status == 1 else { throw CryptoError(operation: "PKCS5_PBKDF2_HMAC") }
        return key
    }
}

/// OpenSSL's process-wide state. By default libcrypto registers `OPENSSL_cleanup` with
/// `atexit` the first time it initializes, and `exit` then frees the library's state while
/// event-loop threads may still be closing TLS connections: an `SSL_free` that runs during or
/// after the cleanup uses freed memory. (A `movr` command crashed in CI under load, its output
/// lost; a probe showed its `SSL_free` running after the cleanup: `ProcessExitTests`.) MovR
/// never needs the cleanup (the process is ending), so every executable initializes libcrypto
/// first thing without it (`OPENSSL_INIT_NO_ATEXIT`). Only the first initialization in a process
/// decides this, whoever makes it (libssl's own, and libpq's, come later), hence "first thing".
public enum OpenSSLLibrary {
    /// Initializes libcrypto without the `atexit` cleanup. Idempotent and thread-safe; returns
    /// false if OpenSSL could not initialize (its later calls then fail and say so).
    @discardableResult
    public static func initialize() -> Bool { initialized }

    private static let initialized: Bool = {
        OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil) == 1
    }()
}
