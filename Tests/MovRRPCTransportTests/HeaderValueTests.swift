import MovRRPCTransport
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
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() {
        let trusted: Set<String> = ["10.0.0.9", "10.0.0.10"]
        #expect(ClientAddress.resolve(peer: "192.0.2.1", forwardedFor: "203.0.113.7", trustedProxies: trusted) == "192.0.2.1")
        #expect(ClientAddress.resolve(peer: "10.0.0.9", forwardedFor: "203.0.113.7, 10.0.0.10", trustedProxies: trusted)
                == "203.0.113.7")
        #expect(ClientAddress.resolve(peer: "10.0.0.9", forwardedFor: "1.2.3.4, <script>", trustedProxies: trusted) == "10.0.0.9")
        #expect(ClientAddress.resolve(peer: nil, forwardedFor: "203.0.113.7", trustedProxies: trusted) == nil)
    }
}
