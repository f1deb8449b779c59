/// The params of a public method: decoded strictly (unknown keys are an error, so clients cannot
/// smuggle in `status`, `revenue`, `owner_id` or `region`) and validated before any work is done.
public protocol APIParams: Codable, Sendable, Equatable {
    /// Checks every field against the API's rules; the error names the offending field.
    func validate() throws(APIValidationError)
}

/// `{}`: the params of methods that take none and the result of methods that return nothing.
public struct EmptyObject: APIParams, Hashable {
    public init() {}

    private enum CodingKeys: CodingKey {}

    public init(from decoder: any Decoder) throws {
        _ = try decoder.strictContainer(keyedBy: CodingKeys.self)
    }

    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: CodingKeys.self)
    }

    public func validate() throws(APIValidationError) {}
}
