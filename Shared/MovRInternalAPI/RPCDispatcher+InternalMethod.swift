import MovRRPC

extension RPCDispatcher {
    /// Registers the internal method `name` of `service` as ``InternalMethod/table`` lists it:
    /// with its allow list, so who may call a method is written in one place. Registering a
    /// method the table does not list for `service`, or with another params type, is a
    /// programming error.
    public mutating func register<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ name: String,
        of service: InternalService,
        params: P.Type,
        _ handler: @escaping @Sendable (P, RPCContext) async throws -> R
    ) {
        guard let entry = InternalMethod.entry(name, of: service) else {
            preconditionFailure("\(name) is not an internal method of \(service) in InternalMethod.table")
        }
        precondition(ObjectIdentifier(entry.paramsType) == ObjectIdentifier(P.self),
                     "\(name) is registered with params \(P.self), the table says \(entry.paramsType)")
        register(name, params: params, allowedCallers: entry.allowedCallers.map { Set($0.map(\.rawValue)) }, handler)
    }
}

extension RPCContext {
    /// The calling service as its certificate names it; `nil` when unidentified or unknown.
    public var callerIdentity: ServiceIdentity? {
        caller.flatMap(ServiceIdentity.init(rawValue:))
    }
}
