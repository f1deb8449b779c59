import MovRAPI
import MovRInternalAPI
import MovRRPC

/// Real dispatchers with every params type registered, each handler only decoding (strictly,
/// as the services do) and validating: what a request can reach before any business logic.
public enum FuzzDispatchers {
    /// Every public method (`PublicMethod`), with validation as the gateway runs it.
    public static let publicAPI: RPCDispatcher = {
        var dispatcher = RPCDispatcher()
        for method in PublicMethod.allCases {
            registerPublic(method.paramsType, as: method.rawValue, in: &dispatcher)
        }
        return dispatcher
    }()

    /// Every internal method of every service (`InternalMethod.table`, the table the services'
    /// dispatcher tests check), without allow lists so every params type is reached.
    public static let internalAPI: RPCDispatcher = {
        var dispatcher = RPCDispatcher()
        var seen: Set<String> = []
        for entry in InternalMethod.table where seen.insert(entry.name).inserted {
            register(entry.paramsType, as: entry.name, in: &dispatcher)
        }
        return dispatcher
    }()

    /// Answers with the params themselves, so their encoding is exercised too.
    static func registerPublic<P: APIParams>(_ type: P.Type, as name: String, in dispatcher: inout RPCDispatcher) {
        dispatcher.register(name, params: P.self) { params, _ in
            try validate(params)
            return params
        }
    }

    static func validate(_ params: any APIParams) throws(RPCError) {
        do throws(APIValidationError) {
            try params.validate()
        } catch {
            throw RPCError.invalidParams(field: error.field, message: error.message)
        }
    }

    static func register<P: Decodable & Sendable>(_ type: P.Type, as name: String, in dispatcher: inout RPCDispatcher) {
        dispatcher.register(name, params: P.self) { params, _ in
            if let params = params as? any APIParams { try validate(params) }
            return RPCEmpty()
        }
    }
}
