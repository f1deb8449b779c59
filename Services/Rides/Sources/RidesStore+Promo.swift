import FoundationEssentials
import MovRAPI
import MovRInternalAPI
import MovRPostgres

extension RidesStore {
    static let promoColumns = "code, description, percent_off, expires_at, created_at"

    static func promoCode(from row: PostgresRow) throws -> PromoCode {
        PromoCode(code: try row.decode("code", as: String.self),
                  description: try row.decode("description", as: String.self),
                  percentOff: try row.decode("percent_off", as: Int.self),
                  expiresAt: try row.decode("expires_at", as: Date.self),
                  createdAt: try row.decode("created_at", as: Date.self))
    }

    /// Codes that have not expired, by code.
    public func unexpiredPromoCodes() async throws -> [PromoCode] {
        try await database.query("""
            SELECT \(unsafeSQL: Self.promoColumns) FROM promo_codes WHERE expires_at > now() ORDER BY code
            """).map(Self.promoCode(from:))
    }

    /// Creates a code; nil when the code exists already.
    public func createPromoCode(_ params: InternalPromoCreateParams) async throws -> PromoCode? {
        try await database.query("""
            INSERT INTO promo_codes (code, description, percent_off, expires_at, created_by)
            VALUES (\(params.code), \(params.description), \(params.percentOff), \(params.expiresAt), \(params.createdBy))
            ON CONFLICT (code) DO NOTHING
            RETURNING \(unsafeSQL: Self.promoColumns)
            """).first.map(Self.promoCode(from:))
    }

    /// Applies an unexpired code to the user; applying it again returns the first application.
    /// Nil when the code is unknown or expired.
    ///
    /// `DO UPDATE` with a no-op change (not `DO NOTHING`) so a concurrent first application is
    /// returned too: it reads the latest committed row, not this statement's snapshot.
    public func applyPromoCode(userID: UUID, code: String) async throws -> UserPromoCode? {
        try await database.query("""
            INSERT INTO user_promo_codes (user_id, code)
            SELECT \(userID), code FROM promo_codes WHERE code = \(code) AND expires_at > now()
            ON CONFLICT (user_id, code) DO UPDATE SET applied_at = user_promo_codes.applied_at
            RETURNING user_id, code, applied_at, used_at
            """).first.map { row in
            UserPromoCode(userID: try row.decode("user_id", as: UUID.self),
                          code: try row.decode("code", as: String.self),
                          appliedAt: try row.decode("applied_at", as: Date.self),
                          usedAt: try row.decode("used_at", as: Date?.self))
        }
    }
}
