import MovRAPI

/// What can go wrong with an account or a session, named for what happened. The store throws
/// these; the service's edge (``UsersService``) gives each its code and reason, once.
public enum UsersError: Error, Sendable, Equatable {
    /// A params rule failed. The gateway checked already; checking again keeps this service
    /// safe on its own.
    case invalidParams(APIValidationError)
    /// The city is not in the locality map.
    case unknownCity
    /// Also when the same registration is retried after it succeeded.
    case usernameTaken
    /// The client, the (client, username) pair or the username must wait (``AuthThrottle``).
    case tooManyAttempts
    /// The password hashing queue is full: shed now rather than answered late.
    case hashingOverloaded
    /// An unknown user, a deleted user or a wrong password: one case, so a caller cannot tell
    /// which usernames exist.
    case invalidCredentials
    /// An unknown, malformed or revoked token, or one of a deleted user.
    case invalidToken
    case tokenExpired
    /// No live user has that id or username.
    case userNotFound
    /// Not one of ``UsersStore/grantableRoles``.
    case unknownRole
    /// The user has a ride in progress (asked of the rides service before a delete).
    case activeRideExists
}
