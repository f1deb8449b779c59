import Testing

@testable import MovRRPC

private func parse(_ text: String, limits: JSONLimits = JSONLimits()) throws(JSONParseError) -> JSONValue {
    try JSONValue.parse(Array(text.utf8), limits: limits)
}

/// The kind of error parsing `bytes` fails with, or `nil` when it parses.
private func failure(_ bytes: [UInt8], limits: JSONLimits = JSONLimits()) -> JSONParseError.Kind? {
    do {
        _ = try JSONValue.parse(bytes, limits: limits)
        return nil
    } catch {
        return error.kind
    }
}

private func failure(_ text: String, limits: JSONLimits = JSONLimits()) -> JSONParseError.Kind? {
    failure(Array(text.utf8), limits: limits)
}

/// `bytes` wrapped in double quotes, as a string document.
private func quoted(_ bytes: [UInt8]) -> [UInt8] { [0x22] + bytes + [0x22] }

@Suite("JSON parser")
struct JSONParserTests {
    @Test("valid documents", arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("\"\"", .string("")),
        ("\"héllo\"", .string("héllo")),
        ("[]", .array([])),
        ("{}", .object([:])),
        (" \t\r\n[ 1 , \"a\" , null ] \n", .array([.number("1"), .string("a"), .null])),
        ("{\"a\":{\"b\":[true,false,{}]},\"c\":-1.5e+3}",
         .object(["a": .object(["b": .array([.bool(true), .bool(false), .object([:])])]), "c": .number("-1.5e+3")])),
        ("[[[]],[{}]]", .array([.array([.array([])]), .array([.object([:])])])),
        ("\"\u{7F}\"", .string("\u{7F}")),
    ])
    func validDocuments(text: String, expected: JSONValue) throws {
        #expect(try parse(text) == expected)
    }

    @Test("numbers keep their exact literal", arguments: [
        "0", "-0", "1", "-1", "1.50", "0.0", "1e10", "1E+2", "1e-2", "-1.25e-3", "10",
        "123456789012345678901234567890", "1.7976931348623157e309",
    ])
    func validNumbers(literal: String) throws {
        #expect(try parse(literal) == .number(literal))
        #expect(try parse("[\(literal)]") == .array([.number(literal)]))
    }

    @Test("malformed numbers are rejected", arguments: [
        "01", "-01", "-", "1.", ".5", "+1", "1e", "1e+", "1.e3", "0x10", "NaN", "Infinity", "-Infinity", "1_000", "--1",
    ])
    func invalidNumbers(literal: String) {
        #expect(failure(literal) != nil)
        #expect(failure("[\(literal)]") != nil)
    }

    @Test("escapes decode, including surrogate pairs")
    func escapes() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try parse(#""\u0041\u00e9\u20AC""#) == .string("Aé€"))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse(#""\uD83D\uDE00x""#) == .string("😀x"))
        #expect(try parse(#""\uDBFF\uDFFF""#) == .string("\u{10FFFF}"))
        #expect(try parse(#""a\u0000b""#) == .string("a\u{0}b"))
        #expect(try parse(#"{"\u006b":1}"#) == .object(["k": .number("1")]))
    }

    @Test("lone surrogate escapes are rejected", arguments: [
        #""\ud800""#, #""\uD800x""#, #""\ud800\u0041""#, #""\udc00""#, #""\uDFFF\uD800""#, #""\ud800\ud800""#,
        #""\ud800\""#,
    ])
    func loneSurrogates(text: String) {
        #expect(failure(text) == .loneSurrogate)
    }

    @Test("invalid escapes are rejected", arguments: [#""\x""#, #""\u12""#, #""\u12G4""#, #""\U0041""#, #""\'""#, #""\"#])
    func invalidEscapes(text: String) {
        #expect(failure(text) != nil)
    }

    @Test("well-formed UTF-8 at the edges of each class is accepted", arguments: [
        [0x7F], [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xE2, 0x82, 0xAC], [0xED, 0x9F, 0xBF],
        [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF0, 0x9F, 0x98, 0x80],
        [0xF3, 0xBF, 0xBF, 0xBF], [0xF4, 0x8F, 0xBF, 0xBF],
    ] as [[UInt8]])
    func validUTF8(bytes: [UInt8]) throws {
        let value = try JSONValue.parse(quoted(bytes))
        #expect(value == .string(String(decoding: bytes, as: UTF8.self)))
        #expect(Array(value.stringValue!.utf8) == bytes)
    }

    @Test("every class of ill-formed UTF-8 is rejected", arguments: [
        [0x80], [0xBF], [0x41, 0x80, 0x41],  // stray continuation bytes
        [0xC0, 0xAF], [0xC1, 0xBF],  // overlong two-byte forms
        [0xE0, 0x80, 0xAF], [0xE0, 0x9F, 0xBF],  // overlong three-byte forms
        [0xF0, 0x80, 0x80, 0xAF], [0xF0, 0x8F, 0xBF, 0xBF],  // overlong four-byte forms
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80],  // UTF-16 surrogates
        [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF7, 0xBF, 0xBF, 0xBF],  // above U+10FFFF
        [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], [0xFE], [0xFF],  // never valid leads
        [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98],  // truncated before the closing quote
        [0xC3, 0x41], [0xE2, 0x28, 0xA1], [0xE2, 0x82, 0x28], [0xF0, 0x9F, 0x28, 0x80], [0xF0, 0x9F, 0x98, 0x28],  // bad continuation
    ] as [[UInt8]])
    func invalidUTF8(bytes: [UInt8]) {
        #expect(failure(quoted(bytes)) == .invalidUTF8)
        // The same bytes after an escape take the slow path through the decoder.
        #expect(failure(quoted(Array(#"\n"#.utf8) + bytes)) == .invalidUTF8)
    }

    @Test("a sequence truncated by the end of input is rejected")
    func truncatedAtEnd() {
        #expect(failure([0x22, 0xE2, 0x82]) == .invalidUTF8)
        #expect(failure([0x22, 0xF0]) == .invalidUTF8)
        #expect(failure([0x22, 0x61]) == .unexpectedEnd)
    }

    @Test("bytes outside strings must be JSON syntax")
    func nonASCIIOutsideStrings() {
        #expect(failure([0xEF, 0xBB, 0xBF] + Array("{}".utf8)) == .unexpectedByte)  // byte order mark
        #expect(failure([0x5B, 0xC3, 0xA9, 0x5D]) == .unexpectedByte)
        #expect(failure("[1,\u{A0}2]") == .unexpectedByte)  // no-break space is not JSON whitespace
    }

    @Test("unescaped control characters in strings are rejected", arguments: [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] as [UInt8])
    func controlCharacters(byte: UInt8) {
        #expect(failure(quoted([0x61, byte, 0x62])) == .controlCharacterInString)
        #expect(failure(quoted(Array(#"\t"#.utf8) + [byte])) == .controlCharacterInString)
    }

    @Test("structural errors are rejected", arguments: [
        "", " ", "[", "]", "{", "}", "[1,]", "[,1]", "[1 2]", "{\"a\":1,}", "{a:1}", "{\"a\" 1}", "{\"a\":}",
        "{1:2}", "'a'", "tru", "nul", "True", "[\"a\"", "\"abc", "{\"a\":1", "[1,", "{,}", "{\"a\":1 \"b\":2}",
    ])
    func structuralErrors(text: String) {
        #expect(failure(text) != nil)
    }

    @Test("anything after the document is rejected", arguments: ["{} x", "[1]]", "1 2", "{}{}", "null,", "\"a\"\"b\"", "[]\u{0}"])
    func trailingGarbage(text: String) {
        #expect(failure(text) == .trailingData)
    }

    @Test("duplicate object keys are rejected")
    func duplicateKeys() throws {
        #expect(failure(#"{"a":1,"a":2}"#) == .duplicateKey)
        #expect(failure(#"{"a":1,"b":{"c":1},"\u0061":2}"#) == .duplicateKey)
        #expect(try parse(#"{"a":{"a":1}}"#) == .object(["a": .object(["a": .number("1")])]))
    }

    @Test("nesting depth 64 is accepted and 65 rejected")
    func depthLimit() throws {
        let arrays64 = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        let arrays65 = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        _ = try parse(arrays64)
        #expect(failure(arrays65) == .nestingTooDeep)

        let objects64 = String(repeating: "{\"a\":", count: 63) + "{}" + String(repeating: "}", count: 63)
        let objects65 = String(repeating: "{\"a\":", count: 64) + "{}" + String(repeating: "}", count: 64)
        _ = try parse(objects64)
        #expect(failure(objects65) == .nestingTooDeep)

        let mixed65 = String(repeating: "[{\"k\":", count: 32) + "[1]" + String(repeating: "}]", count: 32)
        #expect(failure(mixed65) == .nestingTooDeep)
        #expect(failure("[[[1]]]", limits: JSONLimits(maxDepth: 2)) == .nestingTooDeep)
        #expect(failure("1", limits: JSONLimits(maxDepth: 0)) == nil)
    }

    @Test("100000 levels of nesting are rejected without exhausting the stack")
    func hostileDepth() {
        #expect(failure(String(repeating: "[", count: 100_000)) == .nestingTooDeep)
        #expect(failure(String(repeating: "{\"a\":", count: 100_000)) == .nestingTooDeep)
        let balanced = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(failure(balanced) == .nestingTooDeep)
    }

    @Test("size limits are enforced")
    func sizeLimits() {
        let limits = JSONLimits(maxDepth: 64, maxBytes: 100, maxStringBytes: 10)
        #expect(failure("\"0123456789\"", limits: limits) == nil)
        #expect(failure("\"0123456789a\"", limits: limits) == .stringTooLong)
        #expect(failure(#""012345678\n9""#, limits: limits) == .stringTooLong)
        #expect(failure("{\"0123456789a\":1}", limits: limits) == .stringTooLong)
        #expect(failure("[" + String(repeating: "1,", count: 60) + "1]", limits: limits) == .documentTooLarge)
    }

    @Test("errors report the offset where parsing stopped")
    func errorOffset() {
        #expect(throws: JSONParseError(.unexpectedByte, at: 4)) { try parse("[1, x]") }
        #expect(throws: JSONParseError(.trailingData, at: 3)) { try parse("[] 1") }
        #expect(throws: JSONParseError(.invalidUTF8, at: 2)) { try JSONValue.parse([0x22, 0x61, 0xFF, 0x22]) }
    }

    @Test("any byte collection can be parsed")
    func collections() throws {
        let bytes = Array("xx[1,\"a\"]yy".utf8)
        #expect(try JSONValue.parse(bytes[2..<9]) == [1, "a"])
        #expect(try JSONValue.parse("{\"k\":true}".utf8) == ["k": true])
        #expect(try JSONValue.parse(AnyCollection(Array("null".utf8))) == .null)
    }
}
