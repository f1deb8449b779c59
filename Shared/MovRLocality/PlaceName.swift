/// Canonical spelling of city and region names, so that `" New   York "`, `"new york"` and
/// `"NEW YORK"` name the same city everywhere (config, headers, params, database rows).
public enum PlaceName {
    /// Trimmed, lowercased, with every run of internal whitespace collapsed to one space.
    public static func normalized(_ name: String) -> String {
        name.split(whereSeparator: \.isWhitespace).joined(separator: " ").lowercased()
    }
}
