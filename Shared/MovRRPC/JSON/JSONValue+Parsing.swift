extension JSONValue {
    /// Parses one strict RFC 8259 document from `bytes`.
    ///
    /// Rejects invalid UTF-8 (overlong forms, encoded surrogates, values above U+10FFFF), unpaired
    /// `\uD800`-style escapes, unescaped control characters, duplicate object keys, a byte order
    /// mark and anything after the document. Nesting is tracked on an explicit heap stack, so a
    /// deeply nested input fails on `limits.maxDepth` instead of exhausting the thread's stack.
    public static func parse(_ bytes: [UInt8], limits: JSONLimits = JSONLimits()) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(input: buffer, limits: limits)
            return Result { () throws(JSONParseError) in try parser.parseDocument() }
        }
        return try result.get()
    }

    /// Parses one strict RFC 8259 document from any byte collection.
    public static func parse(_ bytes: some Collection<UInt8>, limits: JSONLimits = JSONLimits()) throws(JSONParseError) -> JSONValue {
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            var parser = JSONParser(input: buffer, limits: limits)
            return Result { () throws(JSONParseError) in try parser.parseDocument() }
        }
        if let contiguous { return try contiguous.get() }
        return try parse(Array(bytes), limits: limits)
    }
}

/// A single-pass, non-recursive parser over a byte buffer.
struct JSONParser: ~Copyable {
    private enum OpenContainer { case array, object }

    private let input: UnsafeBufferPointer<UInt8>
    private let limits: JSONLimits
    private var index = 0
    // The containers still open, innermost last. Members live in separate stacks so appending
    // mutates the innermost collection in place; a payload taken out of an enum would be
    // copied on every append, making long arrays quadratic.
    private var open: [OpenContainer] = []
    private var openArrays: [[JSONValue]] = []
    private var openObjects: [[String: JSONValue]] = []
    private var pendingKeys: [String] = []

    /// Sizes the stacks an object (or an array) needs once, for ordinary nesting, instead of
    /// growing them from empty one append at a time (they still grow beyond that).
    private mutating func reserveStacks(forObject: Bool) {
        if open.capacity == 0 { open.reserveCapacity(8) }
        if forObject {
            if openObjects.capacity == 0 { openObjects.reserveCapacity(8) }
            if pendingKeys.capacity == 0 { pendingKeys.reserveCapacity(8) }
        } else if openArrays.capacity == 0 {
            openArrays.reserveCapacity(8)
        }
    }

    init(input: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
        self.input = input
        self.limits = limits
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        guard input.count <= limits.maxBytes else { throw JSONParseError(.documentTooLarge, at: limits.maxBytes) }
        var value: JSONValue
        nextValue: while true {
            skipWhitespace()
            guard index < input.count else { throw error(.unexpectedEnd) }
            switch input[index] {
            case UInt8(ascii: "["):
                try enterContainer()
                skipWhitespace()
                if peek() == UInt8(ascii: "]") {
                    index += 1
                    value = .array([])
                } else {
                    reserveStacks(forObject: false)
                    open.append(.array)
                    openArrays.append([])
                    continue nextValue
                }
            case UInt8(ascii: "{"):
                try enterContainer()
                skipWhitespace()
                if peek() == UInt8(ascii: "}") {
                    index += 1
                    value = .object([:])
                } else {
                    reserveStacks(forObject: true)
                    pendingKeys.append(try parseKey())
                    open.append(.object)
                    // Room for a request envelope's or a params object's members in one
                    // allocation (growing from empty would take three).
                    openObjects.append(Dictionary(minimumCapacity: 4))
                    continue nextValue
                }
            case UInt8(ascii: "\""):
                value = .string(try parseString())
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(try parseNumber())
            default:
                throw error(.unexpectedByte)
            }

            // A value is complete: hand it to the innermost open container, closing containers
            // for as long as their closing bracket follows.
            while let container = open.last {
                skipWhitespace()
                switch container {
                case .array:
                    openArrays[openArrays.count - 1].append(value)
                    switch peek() {
                    case UInt8(ascii: ","):
                        index += 1
                        continue nextValue
                    case UInt8(ascii: "]"):
                        index += 1
                        open.removeLast()
                        value = .array(openArrays.removeLast())
                    case nil:
                        throw error(.unexpectedEnd)
                    default:
                        throw error(.unexpectedByte)
                    }
                case .object:
                    openObjects[openObjects.count - 1][pendingKeys.removeLast()] = value
                    switch peek() {
                    case UInt8(ascii: ","):
                        index += 1
                        skipWhitespace()
                        let next = try parseKey()
                        if openObjects[openObjects.count - 1][next] != nil { throw error(.duplicateKey) }
                        pendingKeys.append(next)
                        continue nextValue
                    case UInt8(ascii: "}"):
                        index += 1
                        open.removeLast()
                        value = .object(openObjects.removeLast())
                    case nil:
                        throw error(.unexpectedEnd)
                    default:
                        throw error(.unexpectedByte)
                    }
                }
            }
            skipWhitespace()
            guard index == input.count else { throw error(.trailingData) }
            return value
        }
    }

    // MARK: - Structure

    private mutating func enterContainer() throws(JSONParseError) {
        guard open.count < limits.maxDepth else { throw error(.nestingTooDeep) }
        index += 1
    }

    /// Reads `"key"` and the `:` after it.
    private mutating func parseKey() throws(JSONParseError) -> String {
        guard let byte = peek() else { throw error(.unexpectedEnd) }
        guard byte == UInt8(ascii: "\"") else { throw error(.unexpectedByte) }
        let key = try parseString()
        skipWhitespace()
        guard let colon = peek() else { throw error(.unexpectedEnd) }
        guard colon == UInt8(ascii: ":") else { throw error(.unexpectedByte) }
        index += 1
        return key
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let text = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for offset in 0..<count {
            guard index + offset < input.count else { throw JSONParseError(.unexpectedEnd, at: input.count) }
            guard input[index + offset] == text[offset] else { throw JSONParseError(.unexpectedByte, at: index + offset) }
        }
        index += count
    }

    // MARK: - Numbers

    /// Validates `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` and returns its text.
    private mutating func parseNumber() throws(JSONParseError) -> String {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        switch peek() ?? 0 {
        case UInt8(ascii: "0"):
            index += 1
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            skipDigits()
        default:
            throw error(.invalidNumber)
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard isDigit(peek()) else { throw error(.invalidNumber) }
            skipDigits()
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard isDigit(peek()) else { throw error(.invalidNumber) }
            skipDigits()
        }
        // A digit run that continues as e.g. `01` or `1x` is caught by the structure check that
        // follows; the literal itself is ASCII, so decoding cannot fail.
        return String(decoding: UnsafeBufferPointer(rebasing: input[start..<index]), as: UTF8.self)
    }

    private func isDigit(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipDigits() {
        while isDigit(peek()) { index += 1 }
    }

    // MARK: - Strings

    /// Reads a string starting at its opening quote and returns the decoded text.
    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let contentStart = index
        // Fast path: plain ASCII/UTF-8 without escapes is sliced straight from the input.
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "\"") {
                let text = UnsafeBufferPointer(rebasing: input[contentStart..<index])
                try checkStringLength(text.count)
                index += 1
                return String(decoding: text, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error(.controlCharacterInString) }
            if byte < 0x80 {
                index += 1
            } else {
                try skipUTF8Sequence()
            }
        }
        guard index < input.count else { throw error(.unexpectedEnd) }

        var decoded = Array(input[contentStart..<index])
        while index < input.count {
            let byte = input[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try appendEscape(to: &decoded)
            case 0..<0x20:
                throw error(.controlCharacterInString)
            case 0x20..<0x80:
                decoded.append(byte)
                index += 1
            default:
                let start = index
                try skipUTF8Sequence()
                decoded.append(contentsOf: input[start..<index])
            }
            try checkStringLength(decoded.count)
        }
        throw error(.unexpectedEnd)
    }

    private func checkStringLength(_ count: Int) throws(JSONParseError) {
        guard count <= limits.maxStringBytes else { throw error(.stringTooLong) }
    }

    private mutating func appendEscape(to decoded: inout [UInt8]) throws(JSONParseError) {
        index += 1  // backslash
        guard let byte = peek() else { throw error(.unexpectedEnd) }
        index += 1
        switch byte {
        case UInt8(ascii: "\""): decoded.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): decoded.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): decoded.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            let escapeStart = index - 2
            var scalar = UInt32(try parseHex4())
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate is only meaningful when a low surrogate escape follows.
                guard index + 1 < input.count, input[index] == UInt8(ascii: "\\"), input[index + 1] == UInt8(ascii: "u")
                else { throw JSONParseError(.loneSurrogate, at: escapeStart) }
                index += 2
                let low = UInt32(try parseHex4())
                guard (0xDC00...0xDFFF).contains(low) else { throw JSONParseError(.loneSurrogate, at: escapeStart) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw JSONParseError(.loneSurrogate, at: escapeStart)
            }
            // Surrogates were excluded above, so this always succeeds.
            guard let unicodeScalar = Unicode.Scalar(scalar) else { throw JSONParseError(.loneSurrogate, at: escapeStart) }
            guard let encoded = UTF8.encode(unicodeScalar) else { throw JSONParseError(.loneSurrogate, at: escapeStart) }
            decoded.append(contentsOf: encoded)
        default:
            throw JSONParseError(.invalidEscape, at: index - 2)
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw error(.unexpectedEnd) }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error(.invalidEscape)
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    /// Steps over one well-formed multi-byte UTF-8 sequence (Unicode Table 3-7) or throws.
    private mutating func skipUTF8Sequence() throws(JSONParseError) {
        let lead = input[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF  // no overlongs
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F  // no UTF-16 surrogates
        case 0xF0: length = 4; secondRange = 0x90...0xBF  // no overlongs
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F  // nothing above U+10FFFF
        default: throw error(.invalidUTF8)  // stray continuation, C0/C1 overlong leads, F5...FF
        }
        guard index + length <= input.count else { throw error(.invalidUTF8) }
        guard secondRange.contains(input[index + 1]) else { throw JSONParseError(.invalidUTF8, at: index + 1) }
        for offset in 2..<max(2, length) where !(0x80...0xBF).contains(input[index + offset]) {
            throw JSONParseError(.invalidUTF8, at: index + offset)
        }
        index += length
    }

    // MARK: - Bytes

    private func peek() -> UInt8? {
        index < input.count ? input[index] : nil
    }

    private mutating func skipWhitespace() {
        while index < input.count {
            switch input[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func error(_ kind: JSONParseError.Kind) -> JSONParseError {
        JSONParseError(kind, at: index)
    }
}
