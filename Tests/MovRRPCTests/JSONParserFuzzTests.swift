import Testing

@testable import MovRRPC

/// A fixed-seed generator so a failure reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("JSON parser under mutated input")
struct JSONParserFuzzTests {
    @Test("mutated documents either fail cleanly or round-trip through the serializer")
    func mutations() throws {
        let seeds = [
            #"{"jsonrpc":"2.0","method":"rides.end","params":{"ride_id":"a-b","location":{"latitude":40.7,"longitude":-74.0e0}},"id":1.50}"#,
            #"[{"a":[true,false,null,"\u00e9\ud83d\ude00\n"]},-0.5e-3,"ü€😀"]"#,
            // Long strings: the scanner skips plain bytes eight at a time.
            #"{"id":"9f0e2c4a-51d3-4b8e-a0c7-3d2f1e0b9a87","brand":"Skeleton Bikes of the North, the long way round","note":"tab\tquote\"slash\\é","city":"new york"}"#,
        ].map { Array($0.utf8) }
        let interesting: [UInt8] = [0x00, 0x22, 0x5C, 0x5B, 0x5D, 0x7B, 0x7D, 0x2C, 0x3A, 0x75, 0x80, 0xC0, 0xED, 0xF4, 0xFF, 0x30, 0x2D, 0x2E, 0x65]
        var random = SplitMix64(state: 0xC0FFEE)
        var accepted = 0
        for round in 0..<20_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                let byte = Bool.random(using: &random) ? interesting.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                default: if bytes.count > 1 { bytes.remove(at: position) }
                }
            }
            guard let value = try? JSONValue.parse(bytes) else { continue }
            accepted += 1
            let text = value.serialized()
            #expect(try JSONValue.parse(text) == value, "round trip of \(String(decoding: bytes, as: UTF8.self))")
            // Anything accepted is valid UTF-8, so String must not have had to repair it.
            if case .string(let s) = value { #expect(String(validating: Array(s.utf8), as: UTF8.self) != nil) }
        }
        #expect(accepted > 100)  // the mutations must also exercise the success path
    }

    /// The scanner that lets the gateway forward result bytes accepts exactly what the parser
    /// accepts, but for duplicate keys (which only the parser, reading values, refuses).
    @Test("the scanner's eight-byte test finds exactly the first byte that ends, escapes or leaves ASCII")
    func wordTest() {
        func isSpecial(_ byte: UInt8) -> Bool { byte == 0x22 || byte == 0x5C || byte < 0x20 || byte >= 0x80 }
        /// The index of the first flagged byte, 8 when none: what the scanner jumps by.
        func firstFlagged(_ bytes: [UInt8]) -> Int {
            let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            return JSONScanner.specialBytes(word).trailingZeroBitCount / 8
        }
        let plain = UInt8(ascii: "a")
        for special in 0...255 {
            for position in 0..<8 {
                var bytes = [UInt8](repeating: plain, count: 8)
                bytes[position] = UInt8(special)
                #expect(firstFlagged(bytes) == (isSpecial(UInt8(special)) ? position : 8), "byte \(special) at \(position)")
                // Every byte value after a special one: borrows above it must not matter.
                if isSpecial(UInt8(special)), position < 7 {
                    let wrong = (0...255).filter { after in
                        bytes[position + 1] = UInt8(after)
                        return firstFlagged(bytes) != position
                    }
                    #expect(wrong.isEmpty, "byte \(special) at \(position), then \(wrong)")
                }
            }
        }
        // Random words against the byte-wise rule, the special bytes made frequent.
        var random = SplitMix64(state: 42)
        for _ in 0..<200_000 {
            let word = random.next() & (random.next() | 0x7F7F_7F7F_7F7F_7F7F)
            let bytes = withUnsafeBytes(of: word.littleEndian) { Array($0) }
            let expected = bytes.firstIndex(where: isSpecial) ?? 8
            #expect(firstFlagged(bytes) == expected, "\(String(word, radix: 16))")
        }
    }

    @Test("the forwarding scanner agrees with the parser on mutated documents")
    func scannerAgreesWithParser() throws {
        let seeds = [
            #"{"result":{"vehicles":[{"id":"0a1b","battery":87,"location":{"latitude":48.85,"longitude":-2.35e0}}],"next_cursor":null},"id":1}"#,
            #"[{"a":[true,false,null,"\u00e9\ud83d\ude00\n"]},-0.5e-3,"ü€😀"]"#,
            // Long strings: the scanner skips plain bytes eight at a time.
            #"{"id":"9f0e2c4a-51d3-4b8e-a0c7-3d2f1e0b9a87","brand":"Skeleton Bikes of the North, the long way round","note":"tab\tquote\"slash\\é","city":"new york"}"#,
        ].map { Array($0.utf8) }
        var random = SplitMix64(state: 0xBADC0DE)
        var agreed = 0
        for round in 0..<20_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                let byte = UInt8.random(in: 0...255, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                default: if bytes.count > 1 { bytes.remove(at: position) }
                }
            }
            let parsed: Bool
            do {
                _ = try JSONValue.parse(bytes)
                parsed = true
            } catch {
                if error.kind == .duplicateKey { continue }
                parsed = false
            }
            let scanned = bytes.withUnsafeBytes { input -> Bool in
                var scanner = JSONScanner(input: input, maxDepth: 64)
                guard (try? scanner.skipValue()) != nil else { return false }
                scanner.skipWhitespace()
                return scanner.isAtEnd
            }
            #expect(scanned == parsed, "\(String(decoding: bytes, as: UTF8.self))")
            if scanned == parsed { agreed += 1 }
        }
        #expect(agreed > 10_000)
    }

    @Test("the scanner matches brackets of both kinds below and beyond 64 levels, up to its limit")
    func deepNestingOfMixedContainers() {
        func scans(_ text: String, maxDepth: Int = 512) -> Bool {
            Array(text.utf8).withUnsafeBytes { input in
                var scanner = JSONScanner(input: input, maxDepth: maxDepth)
                guard (try? scanner.skipValue()) != nil else { return false }
                scanner.skipWhitespace()
                return scanner.isAtEnd
            }
        }
        // Levels alternate object and array, so every closing bracket is checked for its kind.
        func nested(_ levels: Int, swapAt wrong: Int? = nil) -> String {
            var open = "", close = ""
            for level in 0..<levels {
                let isObject = level % 2 == 0
                open += isObject ? #"{"k":"# : "["
                let closer = isObject ? "}" : "]"
                close = (level == wrong ? (isObject ? "]" : "}") : closer) + close
            }
            return open + "1" + close
        }
        for levels in [1, 2, 63, 64, 65, 66, 130, 300] {
            #expect(scans(nested(levels)), "\(levels) levels")
            for wrong in Set([0, levels / 2, levels - 1]) {
                #expect(!scans(nested(levels, swapAt: wrong)), "\(levels) levels, level \(wrong) closed wrong")
            }
        }
        #expect(scans(nested(100), maxDepth: 100))
        #expect(!scans(nested(101), maxDepth: 100))
    }
}
