/// Checks JSON text against the RFC 8259 grammar and finds value boundaries without building
/// values: the cheap way to take a `result` out of a response and pass it on as bytes.
///
/// It checks what a receiver of forwarded bytes relies on: structure, literals, number
/// grammar, string escapes, no raw control characters, well-formed UTF-8, and a nesting limit.
/// It does not look for duplicate keys (the ``JSONValue`` parser does, where values are read).
struct JSONScanner: ~Copyable {
    let input: UnsafeRawBufferPointer
    let maxDepth: Int
    private(set) var index = 0

    init(input: UnsafeRawBufferPointer, maxDepth: Int) {
        self.input = input
        self.maxDepth = maxDepth
    }

    struct Invalid: Error {}

    var isAtEnd: Bool { index >= input.count }

    @inline(__always)
    mutating func skipWhitespace() {
        // Compact JSON (what the services write) has none: one comparison decides.
        if index < input.count, input[index] > 0x20 { return }
        while index < input.count {
            switch input[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The next byte after whitespace, not consumed.
    @inline(__always)
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < input.count ? input[index] : nil
    }

    mutating func expect(_ byte: UInt8) throws(Invalid) {
        guard peek() == byte else { throw Invalid() }
        index += 1
    }

    /// Skips one value (after whitespace); returns its byte range.
    mutating func skipValue() throws(Invalid) -> Range<Int> {
        skipWhitespace()
        let start = index
        // The open containers, innermost last: an object or an array.
        var open = Nesting()
        var expectingValue = true
        while true {
            if expectingValue {
                guard let byte = peek() else { throw Invalid() }
                switch byte {
                case UInt8(ascii: "{"):
                    index += 1
                    guard open.depth < maxDepth else { throw Invalid() }
                    if peek() == UInt8(ascii: "}") {
                        index += 1
                        expectingValue = false
                    } else {
                        open.push(isObject: true)
                        try skipKey()
                        continue
                    }
                case UInt8(ascii: "["):
                    index += 1
                    guard open.depth < maxDepth else { throw Invalid() }
                    if peek() == UInt8(ascii: "]") {
                        index += 1
                        expectingValue = false
                    } else {
                        open.push(isObject: false)
                        continue
                    }
                case UInt8(ascii: "\""):
                    try skipString()
                    expectingValue = false
                case UInt8(ascii: "t"): try skipLiteral("true"); expectingValue = false
                case UInt8(ascii: "f"): try skipLiteral("false"); expectingValue = false
                case UInt8(ascii: "n"): try skipLiteral("null"); expectingValue = false
                default:
                    try skipNumber()
                    expectingValue = false
                }
            }
            // After a value: close containers or move to the next member.
            guard let isObject = open.innermostIsObject else { return start..<index }
            guard let byte = peek() else { throw Invalid() }
            switch byte {
            case UInt8(ascii: ","):
                index += 1
                if isObject { try skipKey() }
                expectingValue = true
            case UInt8(ascii: "}") where isObject, UInt8(ascii: "]") where !isObject:
                index += 1
                open.pop()
            default:
                throw Invalid()
            }
        }
    }

    /// Open containers as bits (1: object, 0: array) in a word, the 65th level on in an array:
    /// results nest a few levels, and a scan per forwarded reply should not allocate.
    private struct Nesting {
        private var bits: UInt64 = 0
        private var deeper: [Bool] = []
        private(set) var depth = 0

        mutating func push(isObject: Bool) {
            if depth < 64 {
                let bit: UInt64 = 1 << UInt64(depth)
                bits = isObject ? bits | bit : bits & ~bit
            } else {
                deeper.append(isObject)
            }
            depth += 1
        }

        mutating func pop() {
            depth -= 1
            if depth >= 64 { deeper.removeLast() }
        }

        var innermostIsObject: Bool? {
            if depth == 0 { return nil }
            if depth > 64 { return deeper.last }
            return bits & (1 << UInt64(depth - 1)) != 0
        }
    }

    /// Skips `"key":`.
    private mutating func skipKey() throws(Invalid) {
        guard peek() == UInt8(ascii: "\"") else { throw Invalid() }
        try skipString()
        try expect(UInt8(ascii: ":"))
    }

    /// Reads a string (at the cursor) and returns its raw bytes without the quotes, when it has
    /// no escapes; used for object keys of the response envelope.
    mutating func readSimpleString() throws(Invalid) -> UnsafeRawBufferPointer? {
        guard peek() == UInt8(ascii: "\"") else { throw Invalid() }
        let start = index + 1
        try skipString()
        let body = UnsafeRawBufferPointer(rebasing: input[start..<(index - 1)])
        return body.contains(UInt8(ascii: "\\")) ? nil : body
    }

    private mutating func skipLiteral(_ literal: StaticString) throws(Invalid) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= input.count else { throw Invalid() }
        let matches = literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { input[index + $0] == expected[$0] }
        }
        guard matches else { throw Invalid() }
        index += count
    }

    private mutating func skipNumber() throws(Invalid) {
        if index < input.count, input[index] == UInt8(ascii: "-") { index += 1 }
        guard index < input.count else { throw Invalid() }
        if input[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            guard try skipDigits() > 0 else { throw Invalid() }
        }
        if index < input.count, input[index] == UInt8(ascii: ".") {
            index += 1
            guard try skipDigits() > 0 else { throw Invalid() }
        }
        if index < input.count, input[index] == UInt8(ascii: "e") || input[index] == UInt8(ascii: "E") {
            index += 1
            if index < input.count, input[index] == UInt8(ascii: "+") || input[index] == UInt8(ascii: "-") { index += 1 }
            guard try skipDigits() > 0 else { throw Invalid() }
        }
    }

    private mutating func skipDigits() throws(Invalid) -> Int {
        // A local cursor: the loop keeps it in a register (the property is written back once).
        let start = index
        var cursor = start
        while cursor < input.count, input[cursor] &- UInt8(ascii: "0") <= 9 { cursor &+= 1 }
        index = cursor
        return cursor - start
    }

    /// Skips a string starting at its opening quote, checking escapes and UTF-8.
    private mutating func skipString() throws(Invalid) {
        index += 1
        while true {
            index = Self.firstSpecialByte(input, from: index)
            guard index < input.count else { break }
            let byte = input[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return
            case UInt8(ascii: "\\"):
                guard index + 1 < input.count else { throw Invalid() }
                switch input[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    let unit = try hexEscape(at: index)
                    index += 6
                    if (0xD800...0xDBFF).contains(unit) {
                        // A high surrogate must be followed by a low one, as the parser insists.
                        guard index + 1 < input.count, input[index] == UInt8(ascii: "\\"),
                              input[index + 1] == UInt8(ascii: "u"),
                              (0xDC00...0xDFFF).contains(try hexEscape(at: index))
                        else { throw Invalid() }
                        index += 6
                    } else if (0xDC00...0xDFFF).contains(unit) {
                        throw Invalid()
                    }
                default:
                    throw Invalid()
                }
            case 0..<0x20:
                throw Invalid()
            default:
                // Not ASCII: firstSpecialByte stops at no other byte.
                index += try Self.utf8SequenceLength(input, at: index)
            }
        }
        throw Invalid()
    }

    /// The index of the first byte at or after `start` that ends or escapes a string, is a
    /// control character or is not ASCII; `input.count` when there is none. Eight bytes at a
    /// time (the gateway scans every string of a forwarded result) and straight to that byte:
    /// most strings are keys and short values, so the bytes before their closing quote are not
    /// walked one by one. Local cursor and bounds, so the loop runs in registers.
    @inline(__always)
    static func firstSpecialByte(_ input: UnsafeRawBufferPointer, from start: Int) -> Int {
        let count = input.count
        var cursor = start
        while cursor &+ 8 <= count {
            let special = specialBytes(UInt64(littleEndian: input.loadUnaligned(fromByteOffset: cursor, as: UInt64.self)))
            if special != 0 { return cursor &+ special.trailingZeroBitCount &>> 3 }
            cursor &+= 8
        }
        while cursor < count {
            let byte = input[cursor]
            if byte == 0x22 || byte == 0x5C || byte < 0x20 || byte >= 0x80 { return cursor }
            cursor &+= 1
        }
        return count
    }

    /// The eight bytes (little-endian) with the high bit set in each byte that ends or escapes
    /// a string, is a control character or is not ASCII (then the byte-wise code decides); zero
    /// when there is none. Bit tricks on the whole word: a byte's high bit in
    /// `(x - 0x01..) & ~x & 0x80..` is set when that byte of `x` is zero; a borrow can also set
    /// it in a byte above a set one, never below, so the lowest set bit marks the first such
    /// byte exactly.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
        let quote = hasZeroByte(word ^ (ones &* 0x22))
        let backslash = hasZeroByte(word ^ (ones &* 0x5C))
        let control = (word &- ones &* 0x20) & ~word & highs  // some byte < 0x20
        let nonASCII = word & highs
        return (quote | backslash | control | nonASCII)
    }

    /// The code unit of the `\\uXXXX` escape starting at `start`.
    private func hexEscape(at start: Int) throws(Invalid) -> UInt16 {
        guard start + 6 <= input.count else { throw Invalid() }
        var unit: UInt16 = 0
        for offset in 2..<6 {
            let byte = input[start + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Invalid()
            }
            unit = unit << 4 | UInt16(digit)
        }
        return unit
    }

    /// Length of the well-formed UTF-8 sequence at `index` (Unicode table 3-7), else `Invalid`.
    private static func utf8SequenceLength(_ input: UnsafeRawBufferPointer, at index: Int) throws(Invalid) -> Int {
        let lead = input[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw Invalid()
        }
        guard index + length <= input.count, secondRange.contains(input[index + 1]) else { throw Invalid() }
        for offset in 2..<length where !(0x80...0xBF).contains(input[index + offset]) {
            throw Invalid()
        }
        return length
    }
}
