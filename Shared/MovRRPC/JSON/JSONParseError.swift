/// Why a byte sequence is not an acceptable JSON document, and where parsing stopped.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case unexpectedEnd = "unexpected end of input"
        case unexpectedByte = "unexpected byte"
        case invalidUTF8 = "invalid UTF-8"
        case controlCharacterInString = "unescaped control character in string"
        case invalidEscape = "invalid escape sequence"
        case loneSurrogate = "unpaired UTF-16 surrogate escape"
        case invalidNumber = "invalid number"
        case trailingData = "data after the document"
        case duplicateKey = "duplicate object key"
        case nestingTooDeep = "nesting too deep"
        case stringTooLong = "string too long"
        case documentTooLarge = "document too large"
    }

    public var kind: Kind
    /// Byte offset into the input where the problem was found.
    public var offset: Int

    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String { "JSON parse error: \(kind.rawValue) at byte \(offset)" }
}
