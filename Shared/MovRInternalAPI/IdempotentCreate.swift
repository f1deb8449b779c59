import FoundationEssentials
import MovRCrypto
import MovRUUID

/// How a create that a client may retry names its object. The client's idempotency key travels
/// to the service that owns the object (the gateway sends a fresh random key when the client
/// gives none, so the gateway's own retries of the internal call are idempotent too), and that
/// service derives the object's id from (kind, owner, key): a retry finds the object the first
/// attempt created instead of creating another, and two callers' keys never meet.
public enum IdempotentCreate {
    public enum Kind: String, Sendable {
        case vehicle, ride
    }

    /// The id of the `kind` object `owner` creates with `key`.
    public static func objectID(_ kind: Kind, owner: UUID, key: String) throws -> UUID {
        try DeterministicID.make(namespace: kind.rawValue, parts: [UUIDText.lowercase(owner), key])
    }
}

/// Name-based UUIDs (RFC 9562 version 8 layout over SHA-256): the same namespace and parts
/// always give the same id, different ones practically never collide.
enum DeterministicID {
    static func make(namespace: String, parts: [String]) throws -> UUID {
        // "movr:" namespace, then each part length-prefixed ("<bytes>:<part>") so ("ab","c") and
        // ("a","bc") differ; built in one array (this runs on every rides.start).
        var input: [UInt8] = []
        input.reserveCapacity(5 + namespace.utf8.count + parts.reduce(0) { $0 + $1.utf8.count + 4 })
        input.append(contentsOf: "movr:".utf8)
        input.append(contentsOf: namespace.utf8)
        for part in parts {
            input.append(contentsOf: String(part.utf8.count).utf8)
            input.append(UInt8(ascii: ":"))
            input.append(contentsOf: part.utf8)
        }
        var bytes = try SHA256.hash(input)
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
