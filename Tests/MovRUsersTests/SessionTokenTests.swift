import MovRCrypto
import Foundation
import Testing
@testable import MovRUsers

@Suite struct SessionTokenTests {
    @Test func tokensAre43Base64URLCharactersAndUnique() throws {
        var seen = Set<String>()
        for _ in 0..<200 {
            let token = try SessionToken.generate()
            #expect(token.utf8.count == 43)
            #expect(SessionToken.isWellFormed(token))
            #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"))
            seen.insert(token)
        }
        #expect(seen.count == 200)
    }

    @Test func hashIsSHA256OfTheTokenText() throws {
        // SHA-256("abc") from FIPS 180-2.
        #expect(SessionToken.hex(try SessionToken.hash("abc"))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let token = try SessionToken.generate()
        let hash = try SessionToken.hash(token)
        #expect(hash.count == 32)
        #expect(try SessionToken.hash(token) == hash)
        #expect(try SessionToken.hash(token + "x") != hash)
        // The empty input, and bytes that are not contiguous (a lazy collection is copied first).
        #expect(Hex.encode(try SHA256.hash([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(try SHA256.hash("abc".utf8.lazy.map { $0 }) == SHA256.hash(Array("abc".utf8)))
    }

    @Test func base64URLEncodingHasNoPadding() {
        #expect(SessionToken.base64URL([0xfb, 0xff]) == "-_8")
        #expect(SessionToken.base64URL([]) == "")
        #expect(SessionToken.hex([0x00, 0x0f, 0xa5]) == "000fa5")
    }

    @Test func hexOfEveryKindOfByteCollection() {
        let bytes: [UInt8] = [0x00, 0x0f, 0xa5, 0xff, 0x10]
        #expect(Hex.encode(bytes) == "000fa5ff10")
        #expect(Hex.encode(bytes.prefix(3)) == "000fa5")
        #expect(Hex.encode(bytes.dropFirst(2)) == "a5ff10")
        #expect(bytes.withUnsafeBytes { Hex.encode($0) } == "000fa5ff10")
        // Not contiguous: through a copy.
        #expect(Hex.encode(repeatElement(UInt8(0xab), count: 3)) == "ababab")
        #expect(Hex.encode(bytes.lazy.map { $0 ^ 0xff }) == "fff05a00ef")
        #expect(Hex.encode([UInt8]()) == "")
    }

    @Test func malformedTokensAreRecognized() {
        #expect(!SessionToken.isWellFormed(""))
        #expect(!SessionToken.isWellFormed(String(repeating: "a", count: 42)))
        #expect(!SessionToken.isWellFormed(String(repeating: "a", count: 44)))
        #expect(!SessionToken.isWellFormed(String(repeating: "a", count: 42) + "="))
        #expect(!SessionToken.isWellFormed(String(repeating: "a", count: 42) + "/"))
        #expect(SessionToken.isWellFormed(String(repeating: "a", count: 41) + "-_"))
    }

    @Test func constantTimeComparison() {
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equal([], []))
    }
}
