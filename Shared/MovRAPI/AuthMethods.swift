import FoundationEssentials

/// Params of `auth.login`.
public struct AuthLoginParams: APIParams {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// Only bounds the password's size: its registration rules are not restated at login, where
    /// a wrong password of any shape is simply `invalid_credentials`.
    public func validate() throws(APIValidationError) {
        try FieldRule.username(username)
        try FieldRule.password(password, length: 1...128)
    }
}

/// Result of `auth.login`: a bearer token for `Authorization`, valid until `expiresAt`.
public struct AuthLoginResult: Codable, Sendable, Hashable {
    public var token: String
    public var expiresAt: Date
    public var user: User

    public init(token: String, expiresAt: Date, user: User) {
        self.token = token
        self.expiresAt = expiresAt
        self.user = user
    }

    enum CodingKeys: String, CodingKey {
        case token
        case expiresAt = "expires_at"
        case user
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        token = try container.decode(String.self, forKey: .token)
        expiresAt = try container.decodeRFC3339(forKey: .expiresAt)
        user = try container.decode(User.self, forKey: .user)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(token, forKey: .token)
        try container.encodeRFC3339(expiresAt, forKey: .expiresAt)
        try container.encode(user, forKey: .user)
    }
}
