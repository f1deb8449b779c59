import MovRRPC

extension RPCError {
    /// A city that is not in the locality map: the same code, reason and field from every
    /// service and the gateway (`-32602 unknown_city`).
    public static func unknownCity(message: String = "unknown city", field: String = "city") -> RPCError {
        RPCError(code: Code.invalidParams, message: message, reason: "unknown_city", field: field)
    }
}
