import COpenSSL

/// Password hashing with libcrypto's scrypt. Every function here is CPU-heavy and blocking:
/// call it from ``PasswordHasher``'s thread pool, never from Swift's cooperative pool.
public enum Scrypt {
    public static func deriveKey(password: String, salt: [UInt8], parameters: ScryptParameters,
                                 keyLength: Int) throws -> [UInt8] {
        var passwordBytes = Array(password.utf8)
        defer { OPENSSL_cleanse(&passwordBytes, passwordBytes.count) }
        var key = [UInt8](repeating: 0, count: keyLength)
        let status = passwordBytes.withUnsafeBufferPointer { passwordBuffer in
            passwordBuffer.withMemoryRebound(to: CChar.self) { passwordChars in
                salt.withUnsafeBufferPointer { saltBuffer in
                    key.withUnsafeMutableBufferPointer { keyBuffer in
                        EVP_PBE_scrypt(passwordChars.baseAddress, passwordChars.count,
                                       saltBuffer.baseAddress, saltBuffer.count,
                                       UInt64(1) << UInt64(parameters.log2N), UInt64(parameters.r),
                                       UInt64(parameters.p), parameters.memoryLimitBytes,
                                       keyBuffer.baseAddress, keyBuffer.count)
                    }
                }
            }
        }
        guard status == 1 else { throw UsersCryptoError(operation: "EVP_PBE_scrypt") }
        return key
    }

    /// A new hash of `password` with a fresh random salt.
    public static func hash(password: String, parameters: ScryptParameters = .standard) throws -> PasswordHash {
        let salt = try CryptoPrimitives.randomBytes(PasswordHash.saltLength)
        let key = try deriveKey(password: password, salt: salt, parameters: parameters,
                                keyLength: PasswordHash.keyLength)
        return PasswordHash(parameters: parameters, salt: salt, key: key)
    }

    /// Whether `password` produces `stored`'s key; the comparison takes constant time.
    public static func verify(password: String, against stored: PasswordHash) throws -> Bool {
        let key = try deriveKey(password: password, salt: stored.salt, parameters: stored.parameters,
                                keyLength: stored.key.count)
        return CryptoPrimitives.constantTimeEqual(key, stored.key)
    }
}
