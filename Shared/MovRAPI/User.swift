import FoundationEssentials

/// A registered user as clients see it (never the password hash or roles).
public struct User: Codable, Sendable, Hashable {
    public var id: UUID
    public var username: String
    public var email: String
    public var firstName: String
    public var lastName: String
    public var city: String
    public var region: String
    public var createdAt: Date

    public init(id: UUID, username: String, email: String, firstName: String, lastName: String,
                city: String, region: String, createdAt: Date) {
        self.id = id
        self.username = username
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
        self.city = city
        self.region = region
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id
        case username
        case email
        case firstName = "first_name"
        case lastName = "last_name"
        case city
        case region
        case createdAt = "created_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeUUID(forKey: .id)
        username = try container.decode(String.self, forKey: .username)
        email = try container.decode(String.self, forKey: .email)
        firstName = try container.decode(String.self, forKey: .firstName)
        lastName = try container.decode(String.self, forKey: .lastName)
        city = try container.decode(String.self, forKey: .city)
        region = try container.decode(String.self, forKey: .region)
        createdAt = try container.decodeRFC3339(forKey: .createdAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeLowercase(id, forKey: .id)
        try container.encode(username, forKey: .username)
        try container.encode(email, forKey: .email)
        try container.encode(firstName, forKey: .firstName)
        try container.encode(lastName, forKey: .lastName)
        try container.encode(city, forKey: .city)
        try container.encode(region, forKey: .region)
        try container.encodeRFC3339(createdAt, forKey: .createdAt)
    }
}
