import CLibPQ
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parsers for libpq's text format that read the value's bytes where libpq keeps them: no Swift
/// `String`, no Foundation or locale-dependent conversion, and no allocation. Total: every
/// parser returns `nil` for text that is not a value of its type, never traps.
enum PostgresValueText {
    private static let minus = UInt8(ascii: "-"), plus = UInt8(ascii: "+"), zero = UInt8(ascii: "0")

    private static func digit(_ byte: UInt8) -> UInt8? {
        let value = byte &- zero
        return value < 10 ? value : nil
    }

    /// Decimal integer with an optional sign, as `Int(String)` accepts it (no spaces, no
    /// underscores); `nil` when it does not fit `T`. Negative values accumulate downwards so
    /// `T.min` parses without overflowing on the way.
    static func integer<T: FixedWidthInteger & SignedInteger>(_ bytes: UnsafeRawBufferPointer, as type: T.Type) -> T? {
        var index = 0
        let negative = bytes.first == minus
        if negative || bytes.first == plus { index = 1 }
        guard index < bytes.count else { return nil }
        var value: T = 0
        while index < bytes.count {
            guard let digit = digit(bytes[index]) else { return nil }
            let (shifted, overflowedMultiply) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowedAdd) = negative
                ? shifted.subtractingReportingOverflow(T(digit))
                : shifted.addingReportingOverflow(T(digit))
            guard !overflowedMultiply, !overflowedAdd else { return nil }
            value = next
            index += 1
        }
        return value
    }

    /// The spellings the server sends ("t", "f") and the ones the old String decoder accepted.
    static func bool(_ bytes: UnsafeRawBufferPointer) -> Bool? {
        if bytes.count == 1 {
            switch bytes[0] {
            case UInt8(ascii: "t"), UInt8(ascii: "1"): return true
            case UInt8(ascii: "f"), UInt8(ascii: "0"): return false
            default: return nil
            }
        }
        if equals(bytes, "true") || equals(bytes, "TRUE") { return true }
        if equals(bytes, "false") || equals(bytes, "FALSE") { return false }
        return nil
    }

    /// Whether the bytes are exactly the given ASCII text.
    static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        bytes.count == text.utf8CodeUnitCount
            && (bytes.isEmpty || memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0)
    }

    /// `strtod` in the C locale (whatever `setlocale` says elsewhere in the process), which is
    /// what `Double(String)` used, accepting what it accepts: "Infinity", "-Infinity", "NaN",
    /// exponents; no leading whitespace, nothing left over. Correct rounding is libc's.
    static func double(_ bytes: UnsafeRawBufferPointer) -> Double? {
        guard let first = bytes.first, !(first == 32 || (9...13).contains(first)) else { return nil }
        // newlocale fails only without memory; Swift's parser then (it needs a String) beats a crash.
        guard let locale = cLocale else { return Double(String(decoding: bytes, as: UTF8.self)) }
        // strtod needs a NUL after the digits; libpq's values have one, but slices (array
        // elements) and Swift strings need not, so copy (on the stack for any sensible length).
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer -> Double? in
            let start = buffer.baseAddress!
            UnsafeMutableRawPointer(start).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            start[bytes.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod_l(start, &end, locale)
            return end == start + bytes.count ? value : nil
        }
    }

    /// The POSIX locale for `strtod_l`. `nonisolated(unsafe)`: created once (lazily, thread-safe
    /// global initialization) and never modified; libc only reads it.
    private nonisolated(unsafe) static let cLocale = newlocale(LC_NUMERIC_MASK | LC_CTYPE_MASK, "C", nil)

    // MARK: Decimal

    /// `numeric` text: optional sign, digits with an optional point (at least one digit), an
    /// optional exponent. Like `Decimal(string:)`: at most 128 bits of significand are kept
    /// (further integer digits raise the exponent, further fraction digits are dropped), the
    /// significand is stripped of trailing zeros, and an exponent outside -128...127 is invalid.
    /// Stricter than the old decoder, which took a valid prefix ("1..2" read as 1); NaN and
    /// infinities have no `Decimal` value and stay invalid.
    static func decimal(_ bytes: UnsafeRawBufferPointer) -> Decimal? {
        var index = 0
        let negative = bytes.first == minus
        if negative || bytes.first == plus { index = 1 }

        var significand = UInt128Parts()
        var exponent = 0
        var digitCount = 0
        var full = false  // a digit was dropped: keep counting integer digits, take no more
        var seenPoint = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else if let digit = digit(byte) {
                digitCount += 1
                if !full, significand.appendDigit(digit) {
                    if seenPoint { exponent -= 1 }
                } else {
                    full = true
                    if !seenPoint { exponent += 1 }
                }
            } else {
                break
            }
            index += 1
        }
        guard digitCount > 0 else { return nil }
        if index < bytes.count {
            guard bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E"),
                  let shift = integer(UnsafeRawBufferPointer(rebasing: bytes[(index + 1)...]), as: Int32.self)
            else { return nil }
            exponent += Int(shift)
        }
        if significand.isZero { return Decimal(0) }
        while exponent < 127, significand.divideByTenIfExact() { exponent += 1 }
        guard (-128...127).contains(exponent) else { return nil }
        return Decimal(sign: negative ? .minus : .plus, exponent: exponent, significand: significand.decimal)
    }

    /// A 128-bit unsigned accumulator (Decimal's significand width) from two words, because
    /// `UInt128` needs macOS 15.
    private struct UInt128Parts {
        var high: UInt64 = 0
        var low: UInt64 = 0

        var isZero: Bool { high == 0 && low == 0 }

        /// self = self * 10 + digit, unless that exceeds 128 bits (then unchanged, false).
        mutating func appendDigit(_ digit: UInt8) -> Bool {
            let (highProduct, highOverflow) = high.multipliedReportingOverflow(by: 10)
            let lowProduct = low.multipliedFullWidth(by: 10)
            let (newLow, carry) = lowProduct.low.addingReportingOverflow(UInt64(digit))
            let (withHigh, overflow1) = highProduct.addingReportingOverflow(lowProduct.high)
            let (newHigh, overflow2) = withHigh.addingReportingOverflow(carry ? 1 : 0)
            guard !highOverflow, !overflow1, !overflow2 else { return false }
            (high, low) = (newHigh, newLow)
            return true
        }

        /// self = self / 10 when the remainder is 0 (true), otherwise unchanged (false).
        mutating func divideByTenIfExact() -> Bool {
            let (highQuotient, highRemainder) = high.quotientAndRemainder(dividingBy: 10)
            let (lowQuotient, remainder) = UInt64(10).dividingFullWidth((highRemainder, low))
            guard remainder == 0 else { return false }
            (high, low) = (highQuotient, lowQuotient)
            return true
        }

        /// Exact: high * 2^64 + low fits Decimal's 128-bit significand.
        var decimal: Decimal {
            high == 0 ? Decimal(low) : Decimal(high) * Self.twoToThe64 + Decimal(low)
        }

        private static let twoToThe64 = Decimal(UInt64.max) + 1
    }
}
