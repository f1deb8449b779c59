@testable import MovRRPCTransport
import Testing

/// Header values a client controls, as the server reads them (fuzzed by Fuzz/FuzzHeaders).
@Suite("header values")
struct HeaderValueTests {
    @Test func bearerTokens() {
        #expect(BearerToken.parse(authorization: "Bearer abc") == "abc")
        #expect(BearerToken.parse(authorization: "bEaReR  abc ") == "abc")
        #expect(BearerToken.parse(authorization: "Basic abc") == nil)
        #expect(BearerToken.parse(authorization: "Bearer") == nil)
        #expect(BearerToken.parse(authorization: "Bearer    ") == nil)
        #expect(BearerToken.parse(authorization: "Bearer " + String(repeating: "t", count: 257)) == nil)
        #expect(BearerToken.parse(authorization: "Bearer " + String(repeating: "t", count: 256)) == String(repeating: "t", count: 256))
        #expect(BearerToken.parse(authorization: "  Bearer \tabc\t ") == "abc")
        #expect(BearerToken.parse(authorization: "Bearer\tabc") == nil)
        #expect(BearerToken.parse(authorization: "Bearerx abc") == nil)
        #expect(BearerToken.parse(authorization: "Bearer a b") == "a b")
    }

    /// The byte-level reading of ASCII headers answers as the reading by `Character` (kept for
    /// the rest) for every header: edge cases, then random ones over an alphabet of scheme
    /// letters in both cases, spaces, tabs, other ASCII and non-ASCII (a combining mark after a
    /// space makes one grapheme of them).
    @Test func bearerTokensReadAsBytesMatchTheCharacterReading() {
        var cases = ["", " ", "Bearer", "Bearer ", "Bearer  ", " Bearer x", "bearer\tx", "BEARER x ", "Bearer x\t",
                     "Bearer \u{301}x", "Bearer x \u{301}", "Bearér x", "Bearer é", "Bear x", "Bearerr x", "\tBearer x",
                     "Bearer x\u{7F}", "Bearer \u{0}x"]
        let alphabet: [String] = ["B", "b", "e", "E", "a", "A", "r", "R", " ", " ", "\t", "x", "-", "=", "é", "\u{301}", "😀"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &generator)
            cases.append((0..<length).map { _ in alphabet.randomElement(using: &generator)! }.joined())
            cases.append("Bearer " + (0..<length).map { _ in alphabet.randomElement(using: &generator)! }.joined())
        }
        for header in cases {
            #expect(BearerToken.parse(authorization: header) == BearerToken.parseCharacters(header), "\(header.debugDescription)")
        }
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() {
        let trusted: TrustedProxies = ["10.0.0.9", "10.0.0.10"]
        #expect(ClientAddress.resolve(peer: "192.0.2.1", forwardedFor: "203.0.113.7", trustedProxies: trusted) == "192.0.2.1")
        #expect(ClientAddress.resolve(peer: "10.0.0.9", forwardedFor: "203.0.113.7, 10.0.0.10", trustedProxies: trusted)
                == "203.0.113.7")
        #expect(ClientAddress.resolve(peer: "10.0.0.9", forwardedFor: "1.2.3.4, <script>", trustedProxies: trusted) == "10.0.0.9")
        #expect(ClientAddress.resolve(peer: nil, forwardedFor: "203.0.113.7", trustedProxies: trusted) == nil)
    }

    @Test func trustedProxiesMayBeIPv4Networks() {
        let network: TrustedProxies = ["10.89.0.0/16"]
        #expect(ClientAddress.resolve(peer: "10.89.3.4", forwardedFor: "198.51.100.9", trustedProxies: network) == "198.51.100.9")
        #expect(ClientAddress.resolve(peer: "10.90.3.4", forwardedFor: "198.51.100.9", trustedProxies: network) == "10.90.3.4")
        // A client's own forged entry to the left of the proxy's is not believed.
        #expect(ClientAddress.resolve(peer: "10.89.0.9", forwardedFor: "1.1.1.1, 198.51.100.9", trustedProxies: network)
                == "198.51.100.9")
        #expect(network.contains("10.89.255.255"))
        #expect(!network.contains("10.88.255.255"))
        #expect(TrustedProxies(["0.0.0.0/0"]).contains("203.0.113.1"))
        #expect(TrustedProxies(["192.0.2.7/32"]).contains("192.0.2.7"))
        #expect(!TrustedProxies(["192.0.2.7/32"]).contains("192.0.2.8"))
        for bad in ["10.89.0.0/33", "10.89.0.0/x", "10.89/16", "/16", "10.89.0.0/"] {
            #expect(!TrustedProxies([bad]).contains("10.89.0.1"), "\(bad)")
        }
        #expect(ClientAddress.ipv4("256.1.1.1") == nil && ClientAddress.ipv4("1.2.3") == nil && ClientAddress.ipv4("1.2.3.4.") == nil)
    }

    /// Content types the server takes as JSON: the media type in any case, with parameters and
    /// blanks around it; nothing else.
    @Test func contentTypesTakenAsJSON() {
        for accepted in ["application/json", "Application/JSON", "application/json; charset=utf-8", " application/json ",
                         "\tapplication/json\t;x", "APPLICATION/JSON;", "application/json ;charset=utf-8"] {
            #expect(RPCHTTPHandler.isJSON(contentType: accepted), "\(accepted.debugDescription)")
        }
        for refused in ["", "text/plain", "application/jsonx", "application/json-seq", "xapplication/json", "application/ json",
                        "application\u{0}json", "application/js0n", "application/jsoN\u{301}", "application:json", "application/json\n",
                        "applicationjson", ";application/json", "\u{A0}application/json"] {
            #expect(!RPCHTTPHandler.isJSON(contentType: refused), "\(refused.debugDescription)")
        }
    }

    /// The byte-level check answers as a plain reading of the rule (media type before any `;`,
    /// blanks trimmed, compared without ASCII case) for random values near the accepted one.
    @Test func contentTypeCheckMatchesTheRule() {
        func rule(_ value: String) -> Bool {
            // Split on the byte: a combining mark after `;` makes one `Character` of them.
            let mediaType = value.utf8.split(separator: 0x3B, maxSplits: 1, omittingEmptySubsequences: false).first ?? []
            let trimmed = mediaType.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
            let lowered = trimmed.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            return lowered == Array("application/json".utf8)
        }
        let pieces = ["application", "APPLICATION", "Application", "/", "json", "JSON", "jSoN", " ", "\t", ";", "charset=utf-8", "x",
                      "é", "\u{301}", "a", "n", "application/json", ";\u{301}"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let value = (0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            #expect(RPCHTTPHandler.isJSON(contentType: value) == rule(value), "\(value.debugDescription)")
        }
    }
}
