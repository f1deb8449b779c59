import FoundationEssentials
import MovRAPI
import MovRRPC

/// A bearer token to look up or revoke. Tokens travel only inside mutual TLS and are never logged.
public struct SessionTokenParams: Codable, Sendable {
    public var token: String

    public init(token: String) {
        self.token = token
    }
}

/// Written by hand, as the other types below that every signed-in call or ride sends: the
/// gateway checks a session for each signed-in call, and the `Codable` walk (a dynamic cast and
/// a container per member) was a visible share of the users service's CPU per check. Same
/// members as the synthesized conformances; ByteEncoderShapeTests compares the two.
extension SessionTokenParams: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        writer.object { object in
            object.key("token"); object.string(token)
        }
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

extension SessionResult: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.object { object in
            object.key("user"); try user.writeJSON(into: &object)
            object.key("roles"); object.array(roles) { $0.string($1) }
            // The synthesized conformance's `Date`: seconds since the reference date.
            object.key("expires_at"); try object.double(expiresAt.timeIntervalSinceReferenceDate)
        }
    }
}

/// Several bearer tokens to look up in one call (`auth.sessions`): the gateway sends the tokens
/// of the signed-in calls that arrived while an earlier check was in flight, so under load one
/// exchange and one statement check many (see docs/architecture.md §4). At most
/// ``maxTokens``; the answer keeps their order.
public struct SessionTokensParams: Codable, Sendable {
    public var tokens: [String]

    /// The most tokens one call may carry.
    public static let maxTokens = 64

    public init(tokens: [String]) {
        self.tokens = tokens
    }
}

extension SessionTokensParams: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        writer.object { object in
            object.key("tokens"); object.array(tokens) { $0.string($1) }
        }
    }
}

/// What one token of an `auth.sessions` call resolved to: its session, or the reason
/// `auth.session` would have refused it with (`invalid_token`, `token_expired`).
public enum SessionCheck: Sendable {
    case valid(SessionResult)
    case refused(reason: String)
}

extension SessionCheck: Codable {
    enum CodingKeys: String, CodingKey {
        case session, refused
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let session = try container.decodeIfPresent(SessionResult.self, forKey: .session) {
            guard !container.contains(.refused) else {
                throw DecodingError.dataCorruptedError(forKey: .refused, in: container,
                                                       debugDescription: "a session check is either a session or refused")
            }
            self = .valid(session)
        } else {
            self = .refused(reason: try container.decode(String.self, forKey: .refused))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .valid(let session): try container.encode(session, forKey: .session)
        case .refused(let reason): try container.encode(reason, forKey: .refused)
        }
    }
}

/// The answer to `auth.sessions`: one check per token, in the order of the tokens.
public struct SessionsResult: Codable, Sendable {
    public var sessions: [SessionCheck]

    public init(sessions: [SessionCheck]) {
        self.sessions = sessions
    }
}

extension SessionsResult: JSONByteWritable {
    public func writeJSON(into writer: inout JSONByteWriter) throws {
        try writer.object { object in
            object.key("sessions")
            try object.array(sessions) { array, check in
                switch check {
                case .valid(let session):
                    try array.object { member in
                        member.key("session"); try session.writeJSON(into: &member)
                    }
                case .refused(let reason):
                    array.object { member in
                        member.key("refused"); member.string(reason)
                    }
                }
            }
        }
    }
}

/// `users.register` as the gateway forwards it: the public params plus the client's address,
/// which the users service throttles by.
public struct InternalRegisterParams: Codable, Sendable {
    public var registration: UsersRegisterParams
    public var clientAddress: String?

    enum CodingKeys: String, CodingKey {
        case username, password, email, city
        case firstName = "first_name"
        case lastName = "last_name"
        case clientAddress = "client_address"
    }

    public init(_ registration: UsersRegisterParams, clientAddress: String?) {
        self.registration = registration
        self.clientAddress = clientAddress
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        registration = UsersRegisterParams(
            username: try container.decode(String.self, forKey: .username),
            password: try container.decode(String.self, forKey: .password),
            email: try container.decode(String.self, forKey: .email),
            firstName: try container.decode(String.self, forKey: .firstName),
            lastName: try container.decode(String.self, forKey: .lastName),
            city: try container.decode(String.self, forKey: .city))
        clientAddress = try container.decodeIfPresent(String.self, forKey: .clientAddress)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(registration.username, forKey: .username)
        try container.encode(registration.password, forKey: .password)
        try container.encode(registration.email, forKey: .email)
        try container.encode(registration.firstName, forKey: .firstName)
        try container.encode(registration.lastName, forKey: .lastName)
        try container.encode(registration.city, forKey: .city)
        try container.encodeIfPresent(clientAddress, forKey: .clientAddress)
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
