import MovRAPI
import MovRRPC
import Testing
@testable import MovRUsers

/// Pins what callers receive for each domain error of the users service (docs/API.md): the
/// service's edge is the only place these are mapped.
@Suite struct UsersErrorMappingTests {
    static let pinned: [(error: UsersError, code: Int, reason: String)] = [
        (.invalidParams(APIValidationError(field: "username", message: "too short")), -32602, "invalid_params"),
        (.unknownCity, -32602, "unknown_city"),
        (.usernameTaken, 409, "username_taken"),
        (.tooManyAttempts, 429, "too_many_attempts"),
        (.hashingOverloaded, 503, "overloaded"),
        (.invalidCredentials, 401, "invalid_credentials"),
        (.invalidToken, 401, "invalid_token"),
        (.tokenExpired, 401, "token_expired"),
        (.userNotFound, 404, "user_not_found"),
        (.unknownRole, -32602, "invalid_params"),
        (.activeRideExists, 409, "active_ride_exists"),
    ]

    @Test func eachErrorHasItsCodeAndReason() {
        for (error, code, reason) in Self.pinned {
            #expect(error.rpcError.code == code, "\(error)")
            #expect(error.rpcError.data?.reason == reason, "\(error)")
        }
    }

    /// Retrying helps only when the service is shedding or the caller must wait.
    @Test func onlyThrottlingAndSheddingAreRetryable() {
        for (error, _, _) in Self.pinned {
            let retryable = error == .tooManyAttempts || error == .hashingOverloaded
            #expect(error.rpcError.data?.retryable == retryable, "\(error)")
        }
    }

    @Test func fieldsAndMessagesNameTheRuleNotTheValue() {
        let rule = UsersError.invalidParams(APIValidationError(field: "password", message: "must be 8 to 128 characters"))
        #expect(rule.rpcError.data?.field == "password")
        #expect(rule.rpcError.message == "must be 8 to 128 characters")
        #expect(UsersError.unknownCity.rpcError.data?.field == "city")
        #expect(UsersError.unknownRole.rpcError.data?.field == "role")
        #expect(UsersError.unknownRole.rpcError.message == "unknown role")
        #expect(UsersError.invalidCredentials.rpcError.message == "Invalid username or password")
    }
}
