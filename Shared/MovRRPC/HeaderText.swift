/// Optional whitespace around an HTTP field value (RFC 9110 "OWS": spaces and horizontal tabs).
extension StringProtocol {
    /// The value without leading and trailing spaces and tabs.
    public func trimmingOptionalWhitespace() -> SubSequence {
        let isOWS: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isOWS($0) }), let last = lastIndex(where: { !isOWS($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
