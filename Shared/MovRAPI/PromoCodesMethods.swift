import FoundationEssentials

/// Result of `promo_codes.list` (params: `EmptyObject`).
public struct PromoCodesListResult: Codable, Sendable, Hashable {
    public var promoCodes: [PromoCode]

    public init(promoCodes: [PromoCode]) { self.promoCodes = promoCodes }

    enum CodingKeys: String, CodingKey {
        case promoCodes = "promo_codes"
    }
}

/// Params of `promo_codes.create` (admin only).
///
/// `expiresAt` stays the client's text until `validate()` so a malformed time is reported as a
/// rule failure on `expires_at`; read it as a `Date` through `expirationDate`.
public struct PromoCodesCreateParams: APIParams {
    public var code: String
    public var description: String
    public var percentOff: Int
    public var expiresAt: String

    public init(code: String, description: String, percentOff: Int, expiresAt: String) {
        self.code = code
        self.description = description
        self.percentOff = percentOff
        self.expiresAt = expiresAt
    }

    public init(code: String, description: String, percentOff: Int, expiresAt: Date) {
        self.init(code: code, description: description, percentOff: percentOff,
                  expiresAt: RFC3339.string(from: expiresAt))
    }

    /// `expiresAt` parsed; nil only when `validate()` would fail.
    public var expirationDate: Date? { RFC3339.date(from: expiresAt) }

    enum CodingKeys: String, CodingKey {
        case code
        case description
        case percentOff = "percent_off"
        case expiresAt = "expires_at"
    }

    public func validate() throws(APIValidationError) {
        try FieldRule.promoCode(code)
        try FieldRule.text(description, field: "description", length: 0...200)
        try FieldRule.percentOff(percentOff)
        try FieldRule.time(expiresAt, field: "expires_at")
    }
}

/// Result of `promo_codes.create`.
public struct PromoCodeResult: Codable, Sendable, Hashable {
    public var promoCode: PromoCode

    public init(promoCode: PromoCode) { self.promoCode = promoCode }

    enum CodingKeys: String, CodingKey {
        case promoCode = "promo_code"
    }
}

/// Params of `promo_codes.apply`: the caller's next rides get the discount until it expires.
public struct PromoCodesApplyParams: APIParams {
    public var code: String

    public init(code: String) { self.code = code }

    public func validate() throws(APIValidationError) {
        try FieldRule.promoCode(code)
    }
}

/// Result of `promo_codes.apply`.
public struct UserPromoCodeResult: Codable, Sendable, Hashable {
    public var userPromoCode: UserPromoCode

    public init(userPromoCode: UserPromoCode) { self.userPromoCode = userPromoCode }

    enum CodingKeys: String, CodingKey {
        case userPromoCode = "user_promo_code"
    }
}
