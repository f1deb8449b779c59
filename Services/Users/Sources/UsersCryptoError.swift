/// A libcrypto call failed. Names only the operation, never its inputs (passwords, tokens).
public struct UsersCryptoError: Error, Sendable, Hashable, CustomStringConvertible {
    public var operation: String

    public init(operation: String) {
        self.operation = operation
    }

    public var description: String { "libcrypto \(operation) failed" }
}
