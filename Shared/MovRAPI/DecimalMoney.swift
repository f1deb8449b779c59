/// Money as the API writes it: a decimal string with exactly two places (`"12.50"`), next to
/// a `currency` field. Amounts are kept in cents so no binary floating point touches money.
public enum DecimalMoney {
    /// `1250` -> `"12.50"`, `-5` -> `"-0.05"`.
    public static func string(cents: Int64) -> String {
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return (cents < 0 ? "-" : "") + String(magnitude / 100) + "." + (fraction < 10 ? "0" : "") + String(fraction)
    }

    /// `"12.50"` -> `1250`; nil unless the text has the API's exact shape (`-?digits.dd`).
    public static func cents(_ text: String) -> Int64? {
        var body = Substring(text)
        let negative = body.hasPrefix("-")
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
              let whole = Int64(parts[0]), let fraction = Int64(parts[1])
        else { return nil }
        let (scaled, overflow1) = whole.multipliedReportingOverflow(by: 100)
        let (total, overflow2) = scaled.addingReportingOverflow(fraction)
        guard !overflow1, !overflow2 else { return nil }
        return negative ? -total : total
    }
}
