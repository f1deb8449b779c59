import COpenSSL

/// Message digests from libcrypto.
public enum Digest {
    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        ERR_clear_error()
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &output, &length, EVP_sha256(), nil)
        }
        // EVP_Digest with SHA-256 fails only if libcrypto itself is unusable.
        precondition(ok == 1 && length == 32, "libcrypto SHA-256 failed")
        return output
    }
}
