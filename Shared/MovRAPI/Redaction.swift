// Types that carry a password or a bearer token print without it, so logging a params value
// or a result by accident never leaks a secret.

extension UsersRegisterParams: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "UsersRegisterParams(username: \(username), email: \(email), city: \(city), password: <redacted>)"
    }

    public var debugDescription: String { description }
}

extension AuthLoginParams: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "AuthLoginParams(username: \(username), password: <redacted>)" }
    public var debugDescription: String { description }
}

extension AuthLoginResult: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "AuthLoginResult(user: \(user.id), token: <redacted>)" }
    public var debugDescription: String { description }
}
