/// The params of a public method: decoded strictly (unknown keys are an error, so clients cannot
/// smuggle in `status`, `revenue`, `owner_id` or `region`) and validated before any work is done.
///
/// Strictness is the server decoder's (MovRRPC's `JSONValue.decode(as:)`), not each type's: a
/// params type only declares its members, with `CodingKeys` where the wire name is snake_case.
public protocol APIParams: Codable, Sendable, Equatable {
    /// Checks every field against the API's rules; the error names the offending field.
    func validate() throws(APIValidationError)
}

/// `{}`: the params of methods that take none and the result of methods that return nothing.
public struct EmptyObject: APIParams, Hashable {
    public init() {}

    private enum CodingKeys: CodingKey {}

    /// Opens the object although it reads nothing from it: that refuses by-position (array) and
    /// scalar params, and lets a strict decoder refuse every member (synthesized code would not
    /// look at the value at all).
    public init(from decoder: any Decoder) throws {
        _ = try decoder.container(keyedBy: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: CodingKeys.self)
    }

    public func validate() throws(APIValidationError) {}
}
