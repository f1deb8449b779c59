import Foundation
import MovRAPI

/// A bearer token to look up or revoke. Tokens travel only inside mutual TLS and are never logged.
public struct SessionTokenParams: Codable, Sendable {
    public var token: String

    public init(token: String) {
        self.token = token
    }
}

/// Who a valid token belongs to.
public struct SessionResult: Codable, Sendable {
    public var user: User
    public var roles: [String]
    public var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case user, roles
        case expiresAt = "expires_at"
    }

    public init(user: User, roles: [String], expiresAt: Date) {
        self.user = user
        self.roles = roles
        self.expiresAt = expiresAt
    }
}

public struct UserIDParams: Codable, Sendable {
    public var id: UUID

    public init(id: UUID) {
        self.id = id
    }
}

public struct GrantRoleParams: Codable, Sendable {
    public var username: String
    public var role: String

    public init(username: String, role: String) {
        self.username = username
        self.role = role
    }
}

/// Login with the client's address for rate limiting (never stored).
public struct InternalLoginParams: Codable, Sendable {
    public var username: String
    public var password: String
    public var clientAddress: String?

    enum CodingKeys: String, CodingKey {
        case username, password
        case clientAddress = "client_address"
    }

    public init(username: String, password: String, clientAddress: String?) {
        self.username = username
        self.password = password
        self.clientAddress = clientAddress
    }
}
