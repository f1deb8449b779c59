/// Params of `users.register`. Usernames must already be lowercase: silently lowercasing would let
/// two spellings of one name race for the same account.
public struct UsersRegisterParams: APIParams {
    public var username: String
    public var password: String
    public var email: String
    public var firstName: String
    public var lastName: String
    public var city: String

    public init(username: String, password: String, email: String, firstName: String, lastName: String,
                city: String) {
        self.username = username
        self.password = password
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
        self.city = city
    }

    enum CodingKeys: String, CodingKey {
        case username
        case password
        case email
        case firstName = "first_name"
        case lastName = "last_name"
        case city
    }

    public func validate() throws(APIValidationError) {
        try FieldRule.username(username)
        try FieldRule.password(password)
        try FieldRule.email(email)
        try FieldRule.personName(firstName, field: "first_name")
        try FieldRule.personName(lastName, field: "last_name")
        try FieldRule.city(city)
    }
}

/// Result of `users.register` and `users.me`.
public struct UserResult: Codable, Sendable, Hashable {
    public var user: User

    public init(user: User) { self.user = user }

    enum CodingKeys: String, CodingKey {
        case user
    }
}
