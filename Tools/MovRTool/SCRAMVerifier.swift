import Foundation
import MovRCrypto

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
            throw CryptoError(operation: "SCRAM: password must be printable ASCII")
        }
        let salt = try salt ?? SecureRandom.bytes(16)
        let salted = try PBKDF2SHA256.deriveKey(password: Array(password.utf8), salt: salt, iterations: iterations,
                                                keyLength: 32)
        let clientKey = try HMACSHA256.authenticate(Array("Client Key".utf8), key: salted)
        let serverKey = try HMACSHA256.authenticate(Array("Server Key".utf8), key: salted)
        let storedKey = try SHA256.hash(clientKey)
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
}
