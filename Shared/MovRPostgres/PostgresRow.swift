/// Result column metadata shared by all rows of one result.
public struct PostgresColumn: Sendable, Hashable {
    public var name: String
    public var dataType: PostgresDataType
}

/// One result row in text format.
public struct PostgresRow: Sendable {
    public let columns: [PostgresColumn]
    /// Text value per column; `nil` is SQL NULL.
    public let values: [String?]

    public init(columns: [PostgresColumn], values: [String?]) {
        self.columns = columns
        self.values = values
    }

    public var columnNames: [String] { columns.map(\.name) }

    /// The raw text of the named column (`nil` for NULL or an unknown column).
    public subscript(column: String) -> String? {
        guard let index = columns.firstIndex(where: { $0.name == column }) else { return nil }
        return values[index]
    }

    /// The raw text at a column position (`nil` for NULL).
    public subscript(index: Int) -> String? { values[index] }

    /// Decodes the named column. Throws `PostgresError` with code `.decoding` (or `.invalidQuery`
    /// for an unknown column); the error names the column, never the value.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = columns.firstIndex(where: { $0.name == column }) else {
            throw PostgresError(code: .invalidQuery, serverMessage: "no column named \(column)")
        }
        return try decode(at: index, as: type)
    }

    /// Decodes the column at a position.
    public func decode<T: PostgresDecodable>(at index: Int, as type: T.Type = T.self) throws -> T {
        guard values.indices.contains(index) else {
            throw PostgresError(code: .invalidQuery, serverMessage: "no column at index \(index)")
        }
        do {
            return try T.decode(postgresText: values[index])
        } catch let failure as PostgresDecodingFailure {
            throw PostgresError(code: .decoding, serverMessage: "column \(columns[index].name): \(failure)")
        }
    }
}

/// All rows of one statement's result, materialized.
public struct PostgresRows: Sequence, Sendable {
    public let columns: [PostgresColumn]
    public let rows: [PostgresRow]
    /// Rows affected by INSERT/UPDATE/DELETE (PQcmdTuples); 0 when not applicable.
    public let affectedRows: Int
    /// The command tag, e.g. "INSERT 0 1" or "COMMIT".
    public let commandTag: String

    public init(columns: [PostgresColumn], rows: [PostgresRow], affectedRows: Int, commandTag: String) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }

    public var count: Int { rows.count }
    public var first: PostgresRow? { rows.first }
    public var isEmpty: Bool { rows.isEmpty }
    public func makeIterator() -> IndexingIterator<[PostgresRow]> { rows.makeIterator() }
}
