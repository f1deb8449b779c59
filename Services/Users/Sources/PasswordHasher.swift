import NIOPosix

/// Runs scrypt on a small dedicated thread pool: a hash takes tens of milliseconds of CPU and
/// would otherwise stall every task sharing Swift's cooperative pool. The pool's size also caps
/// how many cores password work can take from the rest of the service.
public struct PasswordHasher: Sendable {
    public let parameters: ScryptParameters
    private let threadPool: NIOThreadPool

    /// Stands in for the stored hash of a user that does not exist. Same parameters as real
    /// hashes, so a login for an unknown name costs as much time as a wrong password.
    private let dummyHash: PasswordHash

    /// - Parameter threadPool: a started pool; its owner shuts it down.
    public init(threadPool: NIOThreadPool, parameters: ScryptParameters = .standard) {
        self.threadPool = threadPool
        self.parameters = parameters
        dummyHash = PasswordHash(parameters: parameters,
                                 salt: [UInt8](repeating: 0, count: PasswordHash.saltLength),
                                 key: [UInt8](repeating: 0, count: PasswordHash.keyLength))
    }

    /// The stored form of a new hash of `password`.
    public func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        return try await threadPool.runIfActive {
            try Scrypt.hash(password: password, parameters: parameters).encoded
        }
    }

    /// Whether `password` matches `storedHash`. An unreadable stored hash is a mismatch, after
    /// the same work as a real check.
    public func verify(_ password: String, storedHash: String) async throws -> Bool {
        let parsed = PasswordHash(encoded: storedHash)
        let stored = parsed ?? dummyHash
        let matches = try await threadPool.runIfActive {
            try Scrypt.verify(password: password, against: stored)
        }
        return parsed != nil && matches
    }

    /// One full verification whose result is discarded, to equalize timing for unknown users.
    public func verifyDummy(_ password: String) async throws {
        let stored = dummyHash
        _ = try await threadPool.runIfActive {
            try Scrypt.verify(password: password, against: stored)
        }
    }
}
