import FoundationEssentials

/// The token of an `Authorization: Bearer <token>` header, as the gateway accepts it: the
/// scheme in any case, one space, then 1...256 bytes (surrounding spaces trimmed); nil for
/// anything else.
public enum BearerToken {
    public static func parse(authorization header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = String(parts[1].trimmingOptionalWhitespace())
        guard (1...256).contains(token.utf8.count) else { return nil }
        return token
    }
}
