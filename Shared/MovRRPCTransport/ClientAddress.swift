/// Who a public request comes from, for per-client limits: the TCP peer, or — only when that
/// peer is one of the configured load balancers — the address it reports in `X-Forwarded-For`.
///
/// A client can put anything into `X-Forwarded-For`, so the header is read only from trusted
/// peers, and from its right end: each trusted proxy appends the address it received the
/// connection from, so the rightmost entry that is not itself a trusted proxy is the first
/// address no trusted hop vouches for beyond (docs/architecture.md §3).
public enum ClientAddress {
    /// - Parameters:
    ///   - peer: the connection's remote IP address (`nil` for non-IP sockets).
    ///   - forwardedFor: the request's `X-Forwarded-For` values, joined with commas.
    ///   - trustedProxies: addresses of the load balancers allowed to speak for clients.
    public static func resolve(peer: String?, forwardedFor: String?, trustedProxies: Set<String>) -> String? {
        guard let peer else { return nil }
        guard trustedProxies.contains(peer), let forwardedFor else { return peer }
        for entry in forwardedFor.split(separator: ",").reversed() {
            let address = entry.trimmingSpaces()
            guard isPlausibleAddress(address) else { return peer }
            if !trustedProxies.contains(address) { return address }
        }
        return peer
    }

    /// IPv4 or IPv6 text only: digits, hex, dots and colons, 2...45 characters.
    static func isPlausibleAddress(_ text: String) -> Bool {
        (2...45).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                 UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "."), UInt8(ascii: ":"):
                true
            default:
                false
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
