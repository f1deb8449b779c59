import Foundation
import NIOPosix
import Testing
@testable import MovRUsers

@Suite struct PasswordHashTests {
    @Test func storedFormRecordsParametersAndSizes() throws {
        let hash = try Scrypt.hash(password: "correct horse battery")
        let parts = hash.encoded.split(separator: "$", omittingEmptySubsequences: false)
        #expect(parts.count == 6)
        #expect(Array(parts.prefix(4)) == ["scrypt", "17", "8", "1"])
        #expect(Data(base64Encoded: String(parts[4]))?.count == 16)
        #expect(Data(base64Encoded: String(parts[5]))?.count == 32)
        #expect(!hash.encoded.contains("correct horse battery"))
    }

    @Test func verifiesTheRightPasswordOnly() throws {
        let hash = try Scrypt.hash(password: "s3cret-password")
        let parsed = try #require(PasswordHash(encoded: hash.encoded))
        #expect(try Scrypt.verify(password: "s3cret-password", against: parsed))
        #expect(try !Scrypt.verify(password: "s3cret-passwore", against: parsed))
        #expect(try !Scrypt.verify(password: "", against: parsed))
    }

    @Test func samePasswordGetsDifferentSaltsAndKeys() throws {
        let first = try Scrypt.hash(password: "same password", parameters: ScryptParameters(log2N: 10, r: 8, p: 1))
        let second = try Scrypt.hash(password: "same password", parameters: ScryptParameters(log2N: 10, r: 8, p: 1))
        #expect(first.salt != second.salt)
        #expect(first.key != second.key)
        #expect(first.encoded != second.encoded)
    }

    @Test func parametersAreReadFromTheStoredString() throws {
        let cheap = ScryptParameters(log2N: 11, r: 4, p: 2)
        let hash = try Scrypt.hash(password: "pw-with-other-cost", parameters: cheap)
        let parsed = try #require(PasswordHash(encoded: hash.encoded))
        #expect(parsed.parameters == cheap)
        #expect(parsed == hash)
        #expect(try Scrypt.verify(password: "pw-with-other-cost", against: parsed))
        // The same password with the default parameters derives another key.
        let key = try Scrypt.deriveKey(password: "pw-with-other-cost", salt: parsed.salt,
                                       parameters: .standard, keyLength: 32)
        #expect(key != parsed.key)
    }

    /// Known-answer test from RFC 7914 §12 ("password", "NaCl", N = 1024, r = 8, p = 16), to be
    /// sure the parameters reach libcrypto in the right order.
    @Test func matchesRFC7914TestVector() throws {
        let key = try Scrypt.deriveKey(password: "password", salt: Array("NaCl".utf8),
                                       parameters: ScryptParameters(log2N: 10, r: 8, p: 16), keyLength: 64)
        #expect(SessionToken.hex(key) == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            + "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
    }

    @Test func rejectsMalformedOrHostileStoredStrings() {
        let salt = Data(repeating: 1, count: 16).base64EncodedString()
        let key = Data(repeating: 2, count: 32).base64EncodedString()
        #expect(PasswordHash(encoded: "scrypt$15$8$1$\(salt)$\(key)") != nil)
        #expect(PasswordHash(encoded: "bcrypt$15$8$1$\(salt)$\(key)") == nil)
        #expect(PasswordHash(encoded: "scrypt$15$8$1$\(salt)") == nil)
        #expect(PasswordHash(encoded: "scrypt$15$8$1$\(salt)$\(key)$extra") == nil)
        #expect(PasswordHash(encoded: "scrypt$x$8$1$\(salt)$\(key)") == nil)
        #expect(PasswordHash(encoded: "scrypt$15$8$1$!!!$\(key)") == nil)
        #expect(PasswordHash(encoded: "scrypt$30$8$1$\(salt)$\(key)") == nil, "N = 2^30 would take 128 GiB")
        #expect(PasswordHash(encoded: "scrypt$15$8$1000$\(salt)$\(key)") == nil)
        #expect(PasswordHash(encoded: "scrypt$15$8$1$\(Data(count: 2).base64EncodedString())$\(key)") == nil)
        #expect(PasswordHash(encoded: "") == nil)
    }

    @Test func standardParametersNeedMoreThanLibcryptoDefaultMemory() {
        // 32 MiB is EVP_PBE_scrypt's default maxmem, which N = 2^15, r = 8 just exceeds.
        #expect(ScryptParameters.standard.requiredMemoryBytes > 32 << 20)
        #expect(ScryptParameters.standard.memoryLimitBytes >= 64 << 20)
    }

    @Test func hasherRunsOnItsPoolAndVerifies() async throws {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        do {
            let hasher = PasswordHasher(threadPool: pool)
            let stored = try await hasher.hash("pool-password")
            #expect(PasswordHash(encoded: stored)?.parameters == .standard)
            #expect(try await hasher.verify("pool-password", storedHash: stored))
            #expect(try await !hasher.verify("pool-passworD", storedHash: stored))
            #expect(try await !hasher.verify("pool-password", storedHash: "not a hash"))
            try await hasher.verifyDummy("anything")
        } catch {
            try await pool.shutdownGracefully()
            throw error
        }
        try await pool.shutdownGracefully()
    }
}
