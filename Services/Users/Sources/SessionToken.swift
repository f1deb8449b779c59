import FoundationEssentials
import MovRCrypto

/// Bearer tokens: 32 random bytes, base64url without padding (43 characters) on the wire; the
/// database holds only SHA-256 of that text, so a copy of the table cannot be replayed.
public enum SessionToken {
    public static let randomByteCount = 32
    public static let encodedLength = 43

    /// A new token as the client sees it. Never log it.
    public static func generate() throws -> String {
        base64URL(try SecureRandom.bytes(randomByteCount))
    }

    /// SHA-256 of the token's text: the `sessions.token_hash` key.
    public static func hash(_ token: String) throws -> [UInt8] {
        try SHA256.hash(token.utf8)
    }

    /// Whether `token` could have come from ``generate()``. Anything else is rejected without a
    /// database round trip.
    public static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == encodedLength && token.utf8.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacing("+", with: "-").replacing("/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// Lowercase hex of `bytes`, for `decode(…, 'hex')` in SQL (the database layer binds text only).
    static func hex(_ bytes: [UInt8]) -> String {
        Hex.encode(bytes)
    }

    /// What the store binds to find a token's session: the lowercase hex of its hash (`movr
    /// bench` tells the session checks in the server log by it).
    public static func hashHex(_ token: String) throws -> String {
        hex(try hash(token))
    }
}
