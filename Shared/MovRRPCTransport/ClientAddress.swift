import MovRRPC

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
    ///   - trustedProxies: the load balancers allowed to speak for clients.
    public static func resolve(peer: String?, forwardedFor: String?, trustedProxies: TrustedProxies) -> String? {
        guard let peer else { return nil }
        guard trustedProxies.contains(peer), let forwardedFor else { return peer }
        for entry in forwardedFor.split(separator: ",").reversed() {
            let address = String(entry.trimmingOptionalWhitespace())
            guard isPlausibleAddress(address) else { return peer }
            if !trustedProxies.contains(address) { return address }
        }
        return peer
    }

    /// Dotted-quad IPv4 text as a number; nil for anything else.
    static func ipv4(_ text: some StringProtocol) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
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

/// The load balancers allowed to speak for clients: addresses, and IPv4 networks written
/// `a.b.c.d/n` (e.g. a container network whose load balancer gets its address when it starts).
/// Parsed once, from configuration; requests only look addresses up. An entry that is neither an
/// address nor a valid network trusts nothing.
public struct TrustedProxies: Sendable, Equatable, ExpressibleByArrayLiteral {
    private var addresses: Set<String> = []
    /// (network, mask) pairs.
    private var networks: [(UInt32, UInt32)] = []

    public init(_ entries: some Sequence<String>) {
        for entry in entries {
            guard let slash = entry.firstIndex(of: "/") else {
                addresses.insert(entry)
                continue
            }
            guard let network = ClientAddress.ipv4(entry[..<slash]),
                  let bits = Int(entry[entry.index(after: slash)...]), (0...32).contains(bits) else { continue }
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
            networks.append((network & mask, mask))
        }
    }

    public init(arrayLiteral entries: String...) {
        self.init(entries)
    }

    public var isEmpty: Bool { addresses.isEmpty && networks.isEmpty }

    /// Whether `address` is one of the addresses or inside one of the networks.
    public func contains(_ address: String) -> Bool {
        if addresses.contains(address) { return true }
        guard !networks.isEmpty, let value = ClientAddress.ipv4(address) else { return false }
        return networks.contains { value & $0.1 == $0.0 }
    }

    public static func == (left: TrustedProxies, right: TrustedProxies) -> Bool {
        left.addresses == right.addresses && left.networks.elementsEqual(right.networks) { $0 == $1 }
    }
}
