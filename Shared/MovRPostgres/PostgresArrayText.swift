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
        var text = text
        var elements: [String?] = []
        let valid = text.withUTF8 { utf8 in
            forEachElement(in: UnsafeRawBufferPointer(utf8)) { elements.append($0.map { String(decoding: $0, as: UTF8.self) }) }
        }
        return valid ? elements : nil
    }

    /// Calls `body` with each element's unescaped bytes (`nil` for NULL), in order; returns false
    /// if the text is not a 1-D array literal (possibly after some elements were passed).
    /// Elements are unescaped into one scratch buffer the size of the literal (on the stack when
    /// small), reused for every element, so `body` must copy what it keeps.
    static func forEachElement(in text: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> Void) rethrows -> Bool {
        var characters = text[...]
        // Arrays with non-default lower bounds are prefixed with "[l:u]=".
        if characters.first == UInt8(ascii: "["), let equals = characters.firstIndex(of: UInt8(ascii: "=")) {
            characters = characters[(equals + 1)...]
        }
        guard characters.count >= 2, characters.first == UInt8(ascii: "{"), characters.last == UInt8(ascii: "}") else { return false }
        characters = characters.dropFirst().dropLast()
        if characters.isEmpty { return true }

        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: characters.count) { scratch in
            var length = 0
            var quoted = false, inQuotes = false
            func emit() throws {
                let element = UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(scratch)[..<length])
                try body(!quoted && PostgresValueText.equals(element, "NULL") ? nil : element)
                length = 0
            }
            var iterator = characters.makeIterator()
            while let character = iterator.next() {
                if inQuotes {
                    if character == UInt8(ascii: "\\") {
                        guard let escaped = iterator.next() else { return false }
                        scratch[length] = escaped
                        length += 1
                    } else if character == UInt8(ascii: "\"") {
                        inQuotes = false
                    } else {
                        scratch[length] = character
                        length += 1
                    }
                    continue
                }
                switch character {
                case UInt8(ascii: "\""):
                    inQuotes = true
                    quoted = true
                case UInt8(ascii: "{"), UInt8(ascii: "}"):
                    return false  // multi-dimensional arrays are not supported
                case UInt8(ascii: ","):
                    try emit()
                    quoted = false
                case UInt8(ascii: "\\"):
                    guard let escaped = iterator.next() else { return false }
                    scratch[length] = escaped
                    length += 1
                default:
                    if !quoted {
                        scratch[length] = character
                        length += 1
                    }
                }
            }
            guard !inQuotes else { return false }
            try emit()
            return true
        }
    }
}
