import FoundationEssentials

/// scrypt's cost parameters: N = 2^log2N, block size r, parallelism p.
public struct ScryptParameters: Sendable, Hashable {
    public var log2N: Int
    public var r: Int
    public var p: Int

    public init(log2N: Int, r: Int, p: Int) {
        self.log2N = log2N
        self.r = r
        self.p = p
    }

    /// What new hashes use: OWASP's recommended minimum for scrypt, N = 2^17, r = 8, p = 1
    /// (128 MiB and about a third of a second of one core here). Hashes stored with weaker
    /// parameters are re-hashed at the owner's next sign-in.
    public static let standard = ScryptParameters(log2N: 17, r: 8, p: 1)

    /// Whether any cost of `self` is below the matching cost of `other`.
    public func isWeaker(than other: ScryptParameters) -> Bool {
        log2N < other.log2N || r < other.r || p < other.p
    }

    /// The memory scrypt needs, as libcrypto accounts it: 128·r·(N + 2) for V plus 128·r·p for B.
    var requiredMemoryBytes: UInt64 {
        128 * UInt64(r) * ((UInt64(1) << UInt64(log2N)) + 2 + UInt64(p))
    }

    /// The `maxmem` handed to libcrypto: its 32 MiB default is exactly too small for N = 2^15,
    /// r = 8, so allow at least 64 MiB and always some slack over the requirement.
    var memoryLimitBytes: UInt64 {
        max(64 << 20, requiredMemoryBytes + (1 << 20))
    }

    /// Whether a hash read from storage may be verified with these parameters. Bounds the CPU and
    /// memory a corrupted row could make one login spend.
    var isAcceptable: Bool {
        (10...20).contains(log2N) && (1...32).contains(r) && (1...16).contains(p)
            && requiredMemoryBytes <= 256 << 20
    }
}

/// A stored password hash, `scrypt$<log2N>$<r>$<p>$<salt base64>$<key base64>`, so the cost
/// parameters stay readable after the defaults change.
public struct PasswordHash: Sendable, Hashable, CustomStringConvertible {
    public var parameters: ScryptParameters
    public var salt: [UInt8]
    public var key: [UInt8]

    public static let saltLength = 16
    public static let keyLength = 32

    public init(parameters: ScryptParameters, salt: [UInt8], key: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.key = key
    }

    /// Parses the stored form; `nil` when it is malformed or asks for unacceptable parameters.
    public init?(encoded: String) {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt",
              let log2N = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
              let salt = Data(base64Encoded: String(parts[4])),
              let key = Data(base64Encoded: String(parts[5])),
              (8...64).contains(salt.count), (16...64).contains(key.count)
        else { return nil }
        let parameters = ScryptParameters(log2N: log2N, r: r, p: p)
        guard parameters.isAcceptable else { return nil }
        self.init(parameters: parameters, salt: Array(salt), key: Array(key))
    }

    public var encoded: String {
        "scrypt$\(parameters.log2N)$\(parameters.r)$\(parameters.p)$"
            + Data(salt).base64EncodedString() + "$" + Data(key).base64EncodedString()
    }

    /// Names the scheme and parameters only.
    public var description: String {
        "PasswordHash(scrypt, log2N: \(parameters.log2N), r: \(parameters.r), p: \(parameters.p))"
    }
}
