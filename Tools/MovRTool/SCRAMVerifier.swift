import COpenSSL
import Foundation
import MovRUsers

/// The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, PostgreSQL's
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`), computed here so that
/// `ALTER ROLE ... PASSWORD` carries only the verifier: the clear password never reaches the
/// server, its statement log or `pg_stat_activity`.
public enum SCRAMVerifier {
    public static let iterations = 4096

    /// `password` must be ASCII without control characters (SASLprep leaves it unchanged then);
    /// the passwords `movr up` generates are hex.
    public static func make(password: String, salt: [UInt8]? = nil) throws -> String {
        guard password.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f }) else {
            throw UsersCryptoError(operation: "SCRAM: password must be printable ASCII")
        }
        let salt = try salt ?? CryptoPrimitives.randomBytes(16)
        let passwordBytes = Array(password.utf8)
        var salted = [UInt8](repeating: 0, count: 32)
        let status = passwordBytes.withUnsafeBufferPointer { passwordBuffer in
            passwordBuffer.withMemoryRebound(to: CChar.self) { passwordChars in
                PKCS5_PBKDF2_HMAC(passwordChars.baseAddress, Int32(passwordChars.count), salt, Int32(salt.count),
                                  Int32(iterations), EVP_sha256(), 32, &salted)
            }
        }
        guard status == 1 else { throw UsersCryptoError(operation: "PKCS5_PBKDF2_HMAC") }
        let clientKey = try hmac(key: salted, message: "Client Key")
        let serverKey = try hmac(key: salted, message: "Server Key")
        let storedKey = try CryptoPrimitives.sha256(clientKey)
        func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
        return "SCRAM-SHA-256$\(iterations):\(base64(salt))$\(base64(storedKey)):\(base64(serverKey))"
    }

    /// True for the shape `make` produces: it is spliced into `PASSWORD '...'`, so nothing else may pass.
    static func isWellFormed(_ verifier: String) -> Bool {
        let base64 = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        let prefix = "SCRAM-SHA-256$\(iterations):"
        guard verifier.hasPrefix(prefix) else { return false }
        let parts = verifier.dropFirst(prefix.count).split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let keys = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        return keys.count == 2 && ([parts[0]] + keys).allSatisfy {
            !$0.isEmpty && $0.unicodeScalars.allSatisfy(base64.contains)
        }
    }

    private static func hmac(key: [UInt8], message: String) throws -> [UInt8] {
        let bytes = Array(message.utf8)
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard HMAC(EVP_sha256(), key, Int32(key.count), bytes, bytes.count, &output, &length) != nil, length == 32 else {
            throw UsersCryptoError(operation: "HMAC")
        }
        return Array(output.prefix(32))
    }
}
