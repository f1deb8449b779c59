/// Text codec for one-dimensional PostgreSQL array literals, e.g. `{a,"b c",NULL}`.
enum PostgresArrayText {
    static func format(_ elements: [String]) -> String {
        var text = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { text += "," }
            text += "\""
            for character in element {
                if character == "\"" || character == "\\" { text += "\\" }
                text.append(character)
            }
            text += "\""
        }
        return text + "}"
    }

    /// Returns the elements (`nil` for NULL), or `nil` if the text is not a 1-D array literal.
    static func parse(_ text: String) -> [String?]? {
        var characters = Substring(text)
        // Arrays with non-default lower bounds are prefixed with "[l:u]=".
        if characters.first == "[", let equals = characters.firstIndex(of: "=") {
            characters = characters[characters.index(after: equals)...]
        }
        guard characters.first == "{", characters.last == "}" else { return nil }
        characters = characters.dropFirst().dropLast()
        if characters.isEmpty { return [] }

        var elements: [String?] = []
        var iterator = characters.makeIterator()
        var current = ""
        var quoted = false, wasQuoted = false, inQuotes = false
        while let character = iterator.next() {
            if inQuotes {
                if character == "\\" {
                    guard let escaped = iterator.next() else { return nil }
                    current.append(escaped)
                } else if character == "\"" {
                    inQuotes = false
                } else {
                    current.append(character)
                }
                continue
            }
            switch character {
            case "\"":
                inQuotes = true
                quoted = true
                wasQuoted = true
            case "{", "}":
                return nil  // multi-dimensional arrays are not supported
            case ",":
                elements.append(!wasQuoted && current == "NULL" ? nil : current)
                current = ""
                quoted = false
                wasQuoted = false
            case "\\":
                guard let escaped = iterator.next() else { return nil }
                current.append(escaped)
            default:
                if !quoted { current.append(character) }
            }
        }
        guard !inQuotes else { return nil }
        elements.append(!wasQuoted && current == "NULL" ? nil : current)
        return elements
    }
}
