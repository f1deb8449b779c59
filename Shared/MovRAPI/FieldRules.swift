import FoundationEssentials

/// Page sizes of every list method.
public enum PageLimit {
    public static let `default` = 25
    public static let range = 1...100
}

/// The rules of the public API's fields, shared by every params type so a rule is written once.
///
/// Lengths count Unicode scalars, not grapheme clusters: a single "character" can carry an
/// unbounded number of combining marks, so scalars are what bounds the bytes stored.
enum FieldRule {
    static func text(_ value: String, field: String, length: ClosedRange<Int>) throws(APIValidationError) {
        // Printable ASCII (nearly every value, ids and keys always): one scalar per byte and no
        // control character, known without a Unicode property lookup per scalar.
        let printableASCII = value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        let count = printableASCII ? value.utf8.count : value.unicodeScalars.count
        guard count >= length.lowerBound else {
            throw APIValidationError(field: field, message: length.lowerBound == 1
                                     ? "must not be empty" : "must be at least \(length.lowerBound) characters")
        }
        guard count <= length.upperBound else {
            throw APIValidationError(field: field, message: "must be at most \(length.upperBound) characters")
        }
        guard printableASCII || !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIValidationError(field: field, message: "must not contain control characters")
        }
    }

    /// Text limited to an ASCII alphabet; `alphabetDescription` says which one in the error.
    static func token(_ value: String, field: String, length: ClosedRange<Int>,
                      alphabetDescription: String, allows: (UInt8) -> Bool) throws(APIValidationError) {
        try text(value, field: field, length: length)
        guard value.utf8.allSatisfy(allows) else {
            throw APIValidationError(field: field, message: "may contain only \(alphabetDescription)")
        }
    }

    static func username(_ value: String, field: String = "username") throws(APIValidationError) {
        try token(value, field: field, length: 3...32, alphabetDescription: "a-z, 0-9, '_', '.' and '-'") {
            isLowercaseLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                || $0 == UInt8(ascii: "-")
        }
    }

    static func password(_ value: String, field: String = "password",
                         length: ClosedRange<Int> = 8...128) throws(APIValidationError) {
        try text(value, field: field, length: length)
    }

    static func email(_ value: String, field: String = "email") throws(APIValidationError) {
        try text(value, field: field, length: 3...254)
        guard value.utf8.count <= 254 else {
            throw APIValidationError(field: field, message: "must be at most 254 bytes")
        }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        let wellFormed = parts.count == 2
            && (1...64).contains(parts[0].utf8.count)
            && !value.unicodeScalars.contains(where: { $0.properties.isWhitespace })
            && isDomain(parts[1])
        guard wellFormed else {
            throw APIValidationError(field: field, message: "must look like name@example.com")
        }
    }

    static func personName(_ value: String, field: String) throws(APIValidationError) {
        try text(value, field: field, length: 1...64)
    }

    static func city(_ value: String, field: String = "city") throws(APIValidationError) {
        try text(value, field: field, length: 1...64)
    }

    static func label(_ value: String, field: String) throws(APIValidationError) {
        try text(value, field: field, length: 1...32)
    }

    static func battery(_ value: Int, field: String = "battery") throws(APIValidationError) {
        guard (0...100).contains(value) else {
            throw APIValidationError(field: field, message: "must be between 0 and 100")
        }
    }

    static func limit(_ value: Int?, field: String = "limit") throws(APIValidationError) {
        guard let value else { return }
        guard PageLimit.range.contains(value) else {
            throw APIValidationError(field: field, message: "must be between 1 and 100")
        }
    }

    static func cursor(_ value: String?, field: String = "cursor") throws(APIValidationError) {
        guard let value else { return }
        guard value.utf8.count <= PageCursor.maximumLength else {
            throw APIValidationError(field: field, message: "must be at most \(PageCursor.maximumLength) characters")
        }
        _ = try PageCursor(decoding: value)
    }

    static func idempotencyKey(_ value: String, field: String = "idempotency_key") throws(APIValidationError) {
        try token(value, field: field, length: 1...64, alphabetDescription: "A-Z, a-z, 0-9, '_' and '-'") {
            isUppercaseLetter($0) || isLowercaseLetter($0) || isDigit($0)
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    static func promoCode(_ value: String, field: String = "code") throws(APIValidationError) {
        try token(value, field: field, length: 3...32, alphabetDescription: "A-Z, 0-9, '_' and '-'") {
            isUppercaseLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    static func percentOff(_ value: Int, field: String = "percent_off") throws(APIValidationError) {
        guard (1...100).contains(value) else {
            throw APIValidationError(field: field, message: "must be between 1 and 100")
        }
    }

    static func time(_ value: String, field: String) throws(APIValidationError) {
        guard value.utf8.count <= 64, RFC3339.date(from: value) != nil else {
            throw APIValidationError(field: field, message: "must be an RFC 3339 time")
        }
    }

    private static func isDomain(_ domain: Substring) -> Bool {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty }
            && !domain.contains("@")
    }

    private static func isLowercaseLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }

    private static func isUppercaseLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
