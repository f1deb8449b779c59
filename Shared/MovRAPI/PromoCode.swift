import FoundationEssentials

/// A discount any rider may apply until it expires (a GLOBAL table: the same everywhere).
public struct PromoCode: Codable, Sendable, Hashable {
    public var code: String
    public var description: String
    public var percentOff: Int
    public var expiresAt: Date
    public var createdAt: Date

    public init(code: String, description: String, percentOff: Int, expiresAt: Date, createdAt: Date) {
        self.code = code
        self.description = description
        self.percentOff = percentOff
        self.expiresAt = expiresAt
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case code
        case description
        case percentOff = "percent_off"
        case expiresAt = "expires_at"
        case createdAt = "created_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(String.self, forKey: .code)
        description = try container.decode(String.self, forKey: .description)
        percentOff = try container.decode(Int.self, forKey: .percentOff)
        expiresAt = try container.decodeRFC3339(forKey: .expiresAt)
        createdAt = try container.decodeRFC3339(forKey: .createdAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(description, forKey: .description)
        try container.encode(percentOff, forKey: .percentOff)
        try container.encodeRFC3339(expiresAt, forKey: .expiresAt)
        try container.encodeRFC3339(createdAt, forKey: .createdAt)
    }
}

/// A promo code a user applied; `usedAt` is set once a ride's price consumed it.
public struct UserPromoCode: Codable, Sendable, Hashable {
    public var userID: UUID
    public var code: String
    public var appliedAt: Date
    public var usedAt: Date?

    public init(userID: UUID, code: String, appliedAt: Date, usedAt: Date? = nil) {
        self.userID = userID
        self.code = code
        self.appliedAt = appliedAt
        self.usedAt = usedAt
    }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case code
        case appliedAt = "applied_at"
        case usedAt = "used_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        userID = try container.decodeUUID(forKey: .userID)
        code = try container.decode(String.self, forKey: .code)
        appliedAt = try container.decodeRFC3339(forKey: .appliedAt)
        usedAt = try container.decodeRFC3339IfPresent(forKey: .usedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(userID, forKey: .userID)
        try container.encode(code, forKey: .code)
        try container.encodeRFC3339(appliedAt, forKey: .appliedAt)
        try container.encodeRFC3339OrNull(usedAt, forKey: .usedAt)
    }
}
