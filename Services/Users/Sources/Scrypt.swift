import MovRCrypto

/// Password hashing with libcrypto's scrypt. Every function here is CPU-heavy and blocking:
/// call it from ``PasswordHasher``'s thread pool, never from Swift's cooperative pool.
public enum Scrypt {
    public static func deriveKey(password: String, salt: [UInt8], parameters: ScryptParameters,
                                 keyLength: Int) throws -> [UInt8] {
        try ScryptKDF.deriveKey(password: password, salt: salt, log2N: parameters.log2N, r: parameters.r,
                                p: parameters.p, maxMemory: parameters.memoryLimitBytes, keyLength: keyLength)
    }

    /// A new hash of `password` with a fresh random salt.
    public static func hash(password: String, parameters: ScryptParameters = .standard) throws -> PasswordHash {
        let salt = try SecureRandom.bytes(PasswordHash.saltLength)
        let key = try deriveKey(password: password, salt: salt, parameters: parameters,
                                keyLength: PasswordHash.keyLength)
        return PasswordHash(parameters: parameters, salt: salt, key: key)
    }

    /// Whether `password` produces `stored`'s key; the comparison takes constant time.
    public static func verify(password: String, against stored: PasswordHash) throws -> Bool {
        let key = try deriveKey(password: password, salt: stored.salt, parameters: stored.parameters,
                                keyLength: stored.key.count)
        return ConstantTime.equal(key, stored.key)
    }
}
