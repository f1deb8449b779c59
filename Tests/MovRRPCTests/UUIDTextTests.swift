import FoundationEssentials
import MovRUUID
import Testing
@testable import MovRRPC

/// `UUIDText` stands in for Foundation's `UUID(uuidString:)` (which parses with `sscanf`) and
/// `uuidString` on every request path: it must read the canonical form as they do (and refuse
/// the non-canonical text `sscanf` lets through) and spell exactly what they spell.
@Suite("UUID text without sscanf")
struct UUIDTextTests {
    @Test func writesWhatUUIDStringSpells() {
        for _ in 0..<2_000 {
            let uuid = UUID()
            #expect(UUIDText.lowercase(uuid) == uuid.uuidString.lowercased())
            var bytes = [UInt8](repeating: 0, count: 36)
            bytes.withUnsafeMutableBytes { _ = UUIDText.write(uuid, uppercase: true, to: $0) }
            #expect(String(decoding: bytes, as: UTF8.self) == uuid.uuidString)
        }
    }

    /// The canonical form, byte by byte.
    static func isCanonical(_ bytes: [UInt8]) -> Bool {
        bytes.count == 36 && bytes.indices.allSatisfy { index in
            [8, 13, 18, 23].contains(index)
                ? bytes[index] == UInt8(ascii: "-")
                : "0123456789abcdefABCDEF".utf8.contains(bytes[index])
        }
    }

    /// Foundation's `sscanf("%2hhx…")` also takes a sign, a space or a dash inside a group
    /// (`+9B61DAF-…` reads as `09B61DAF-…`, `…-A4009931 1DD` as `…-A40099311D0D`, `--415` as
    /// `FC15`): text that names no UUID, or another one. Those are refused here; everything
    /// else is answered exactly as Foundation answers it.
    @Test func acceptsTheCanonicalFormAsFoundationDoesAndNothingElse() {
        // Mutations of valid texts, in both cases: replaced, inserted and removed bytes, drawn
        // from the bytes that matter (hex digits of both cases, their neighbours, dashes,
        // spaces, signs, non-ASCII).
        let alphabet = Array("0123456789abcdefABCDEFgG/:@`-+ \t\u{00}x".utf8) + [0xC3, 0xA9, 0xFF]
        var random = SplitMix64(state: 0x5EED)
        var accepted = 0, rejected = 0, foundationOnly = 0
        for round in 0..<50_000 {
            let uuid = UUID()
            var bytes = Array((round % 2 == 0 ? uuid.uuidString : uuid.uuidString.lowercased()).utf8)
            for _ in 0..<Int.random(in: 0...2, using: &random) {
                let byte = alphabet.randomElement(using: &random)!
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                default: bytes.remove(at: position)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let foundation = UUID(uuidString: text)
            let ours = UUIDText.parse(text)
            if Self.isCanonical(bytes) {
                #expect(ours != nil && ours == foundation, "\(text)")
                accepted += 1
            } else {
                #expect(ours == nil, "\(text)")
                rejected += 1
                if foundation != nil { foundationOnly += 1 }
            }
        }
        #expect(accepted > 10_000 && rejected > 10_000)  // both outcomes exercised
        #expect(foundationOnly > 0)  // and the cases where Foundation is looser
    }

    /// Random ids are version 4, RFC 4122 variant, distinct, and random in every other bit:
    /// over 20 000 ids each of the 122 free bits is set in 45-55 % of them.
    @Test func randomIdsAreVersionFourWithEveryFreeBitRandom() {
        let count = 20_000
        var seen = Set<UUID>()
        var ones = [Int](repeating: 0, count: 128)
        for _ in 0..<count {
            let id = UUIDText.random()
            seen.insert(id)
            withUnsafeBytes(of: id.uuid) { bytes in
                #expect(bytes[6] >> 4 == 4)
                #expect(bytes[8] >> 6 == 0b10)
                for bit in 0..<128 where bytes[bit / 8] & (0x80 >> UInt8(bit % 8)) != 0 { ones[bit] += 1 }
            }
            #expect(UUIDText.parse(UUIDText.lowercase(id)) == id)
        }
        #expect(seen.count == count)
        let fixed: Set<Int> = [48, 49, 50, 51, 64, 65]  // version (4 bits) and variant (2 bits)
        for bit in 0..<128 where !fixed.contains(bit) {
            #expect((count * 45 / 100...count * 55 / 100).contains(ones[bit]), "bit \(bit) set \(ones[bit]) times")
        }
    }

    @Test func paramsDecodeUUIDs() throws {
        struct Params: Decodable, Equatable { var id: UUID }
        let uuid = UUID()
        for text in [uuid.uuidString, uuid.uuidString.lowercased()] {
            #expect(try JSONValue.object(["id": .string(text)]).decode(as: Params.self, strict: true) == Params(id: uuid))
        }
        let signed = "+" + uuid.uuidString.dropFirst()  // Foundation's sscanf takes it
        for bad: JSONValue in [.string("not-a-uuid"), .string(uuid.uuidString + " "), .string(String(signed)), .number("1"), .null] {
            #expect(throws: DecodingError.self) {
                try JSONValue.object(["id": bad]).decode(as: Params.self, strict: true)
            }
        }
    }
}
