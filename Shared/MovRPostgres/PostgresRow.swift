/// Result column metadata shared by all rows of one result.
public struct PostgresColumn: Sendable, Hashable {
    public var name: String
    public var dataType: PostgresDataType
    /// Whether the values came in binary format (``PostgresResultFormat/binary``).
    public var isBinary: Bool

    public init(name: String, dataType: PostgresDataType, isBinary: Bool = false) {
        self.name = name
        self.dataType = dataType
        self.isBinary = isBinary
    }
}

/// One result row in text format: a view into the result libpq returned, which it keeps alive.
/// Values stay in libpq's memory until decoded; only decoding a `String` (or reading `row["col"]`)
/// creates a Swift string.
public struct PostgresRow: Sendable {
    let result: LibPQResult
    let index: Int

    init(result: LibPQResult, index: Int) {
        self.result = result
        self.index = index
    }

    /// A row made in Swift (copied into a one-row result built by libpq in memory).
    public init(columns: [PostgresColumn], values: [String?]) {
        self.init(result: .makeInMemory(columns: columns, values: [values]), index: 0)
    }

    public var columns: [PostgresColumn] { result.columns }

    /// Text value per column; `nil` is SQL NULL. Copies every value: prefer `decode`.
    public var values: [String?] { result.columns.indices.map { self[$0] } }

    public var columnNames: [String] { columns.map(\.name) }

    /// The raw text of the named column (`nil` for NULL or an unknown column).
    public subscript(column: String) -> String? {
        guard let index = result.columnIndex(named: column) else { return nil }
        return self[index]
    }

    /// The raw text at a column position (`nil` for NULL or a position out of range). A binary
    /// column reads as text made from its value, for the types ``PostgresResultFormat/binary``
    /// covers (`nil` for others): text, integers, booleans and UUIDs as the server writes them,
    /// floats and timestamps in MovRPostgres's own text for them (the form binds use).
    public subscript(index: Int) -> String? {
        guard result.columns.indices.contains(index), result.columns[index].isBinary else {
            return result.withValue(row: self.index, column: index) { $0.map { String(decoding: $0, as: UTF8.self) } }
        }
        let type = result.columns[index].dataType
        return result.withValue(row: self.index, column: index) { bytes in
            bytes.flatMap { PostgresValueBinary.text($0, type: type) }
        }
    }

    /// Decodes the named column. Throws `PostgresError` with code `.decoding` (or `.invalidQuery`
    /// for an unknown column); the error names the column, never the value.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = result.columnIndex(named: column) else {
            throw PostgresError(code: .invalidQuery, serverMessage: "no column named \(column)")
        }
        return try decode(at: index, as: type)
    }

    /// Decodes the column at a position. Inlinable, so a service's decoding of a page of rows is
    /// specialized for each column's type where it is called (the unspecialized generic, called
    /// a dozen times per row, was about 1 % of the vehicles service's CPU per page); finding
    /// the value and making the error stay here.
    @inlinable
    public func decode<T: PostgresDecodable>(at index: Int, as type: T.Type = T.self) throws -> T {
        let value = try value(at: index)
        do {
            return try withExtendedLifetime(self) {
                if let binaryType = value.binaryType { return try T.decode(postgresBinary: value.bytes, type: binaryType) }
                return try T.decode(postgresBytes: value.bytes)
            }
        } catch let failure as PostgresDecodingFailure {
            throw decodingError(at: index, failure)
        }
    }

    /// Calls `body` with the bytes of the value at a column position as libpq holds them (`nil`
    /// for SQL NULL), valid only during the call, and the column's type when the value came in
    /// binary (`nil` for text). For a text-like column (text, varchar) both formats carry the
    /// UTF-8 itself: a writer can copy it on without making a `String`.
    @inlinable
    public func withValueBytes<T>(at index: Int,
                                  _ body: (UnsafeRawBufferPointer?, PostgresDataType?) throws -> T) throws -> T {
        let value = try value(at: index)
        return try withExtendedLifetime(self) { try body(value.bytes, value.binaryType) }
    }

    /// The bytes of the value at a column position (libpq's own, valid while this row's result
    /// lives; `nil` for NULL) and the column's type when the value came in binary.
    @usableFromInline
    func value(at index: Int) throws -> (bytes: UnsafeRawBufferPointer?, binaryType: PostgresDataType?) {
        guard result.columns.indices.contains(index) else {
            throw PostgresError(code: .invalidQuery, serverMessage: "no column at index \(index)")
        }
        let bytes = result.withValue(row: self.index, column: index) { $0 }
        return result.columns[index].isBinary ? (bytes, result.columns[index].dataType) : (bytes, nil)
    }

    @usableFromInline
    func decodingError(at index: Int, _ failure: PostgresDecodingFailure) -> PostgresError {
        PostgresError(code: .decoding, serverMessage: "column \(result.columns[index].name): \(failure)")
    }
}

/// All rows of one statement's result: a collection of views into the result libpq returned
/// (no per-row or per-value copies).
public struct PostgresRows: RandomAccessCollection, Sendable {
    let result: LibPQResult
    /// Rows affected by INSERT/UPDATE/DELETE (PQcmdTuples); 0 when not applicable.
    public let affectedRows: Int
    /// The command tag, e.g. "INSERT 0 1" or "COMMIT".
    public let commandTag: String

    init(result: LibPQResult) {
        self.init(result: result, affectedRows: result.affectedRows, commandTag: result.commandTag)
    }

    private init(result: LibPQResult, affectedRows: Int, commandTag: String) {
        self.result = result
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }

    /// Rows made in Swift: their values are copied into one result built by libpq in memory.
    public init(columns: [PostgresColumn], rows: [PostgresRow], affectedRows: Int, commandTag: String) {
        self.init(columns: columns, textValues: rows.map(\.values), affectedRows: affectedRows, commandTag: commandTag)
    }

    /// Rows from text values (`nil` is SQL NULL), in a result that libpq builds in memory
    /// (PQmakeEmptyPGresult, PQsetvalue): the same kind of result a query returns, so tests and
    /// benchmarks can decode rows without a server. Every row must have one value per column.
    public init(columns: [PostgresColumn], textValues: [[String?]], affectedRows: Int = 0, commandTag: String = "") {
        self.init(result: .makeInMemory(columns: columns, values: textValues), affectedRows: affectedRows, commandTag: commandTag)
    }

    public var columns: [PostgresColumn] { result.columns }
    /// The rows as an array (allocates one; iterate or index `self` to avoid it).
    public var rows: [PostgresRow] { Array(self) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { result.rowCount }
    public var count: Int { result.rowCount }
    public var isEmpty: Bool { result.rowCount == 0 }
    public var first: PostgresRow? { isEmpty ? nil : self[0] }

    public subscript(position: Int) -> PostgresRow {
        precondition(indices.contains(position), "row index out of range")
        return PostgresRow(result: result, index: position)
    }
}
