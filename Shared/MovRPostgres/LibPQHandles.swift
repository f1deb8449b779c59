import CLibPQ
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sole owner of a `PGconn*`: `PQfinish` happens exactly once, in `deinit`, also after a failed
/// connect.
///
/// `@unchecked Sendable`: the pointer is only used by the task that leases the owning
/// `PostgresConnection` (or by a thread-pool work item that task awaits, to open or close it);
/// the lease serializes them, so no two threads touch it at once. ``SocketReadiness`` sees
/// only the socket's number, never the connection.
final class LibPQConnectionHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        PQfinish(pointer)
    }
}

/// Sole owner of a `PGresult*`: `PQclear` happens exactly once, in `deinit`. Rows are views into
/// it (`PostgresRows`, `PostgresRow`), so values are read from libpq's memory when decoded instead
/// of being copied into Swift strings up front; the result lives as long as any row refers to it.
///
/// `@unchecked Sendable`: rows may be read from any task. libpq documents a `PGresult` as
/// read-only after creation and safe to share between threads; the only mutation, `PQsetvalue` in
/// `makeInMemory`, happens before this owner exists, and every stored property is a `let`.
final class LibPQResult: @unchecked Sendable {
    let pointer: OpaquePointer
    let rowCount: Int
    let columns: [PostgresColumn]

    init(pointer: OpaquePointer) {
        self.pointer = pointer
        rowCount = Int(PQntuples(pointer))
        let fieldCount = Int(PQnfields(pointer))
        var columns: [PostgresColumn] = []
        columns.reserveCapacity(fieldCount)
        for field in 0..<fieldCount {
            let name = PQfname(pointer, Int32(field)).map { String(cString: $0) } ?? ""
            columns.append(PostgresColumn(name: name, dataType: PostgresDataType(rawValue: PQftype(pointer, Int32(field))),
                                          isBinary: PQfformat(pointer, Int32(field)) == 1))
        }
        self.columns = columns
    }

    deinit {
        PQclear(pointer)
    }

    var status: ExecStatusType { PQresultStatus(pointer) }

    func errorField(_ code: UInt8) -> String? {
        guard let value = PQresultErrorField(pointer, Int32(code)) else { return nil }
        return String(cString: value)
    }

    /// The first column named `name`. A scan, not a table built per result: a result has a
    /// dozen columns or fewer, their names are short (compared in place, no hashing), and the
    /// hottest reads (a page of vehicles) find their columns once per result, not per row.
    func columnIndex(named name: String) -> Int? { columns.firstIndex { $0.name == name } }

    /// Calls `body` with the text-format bytes of one value, `nil` for SQL NULL (and for a row or
    /// column out of range, which libpq reports as NULL). The bytes are libpq's own, valid while
    /// this owner lives, so only for the duration of `body`; the length comes from
    /// `PQgetlength`, not from scanning for the terminating NUL. Only an empty value (length 0:
    /// NULL, out of range, or empty) is asked whether it is NULL: two calls into libpq per value
    /// of a page, not three.
    func withValue<T>(row: Int, column: Int, _ body: (UnsafeRawBufferPointer?) throws -> T) rethrows -> T {
        guard let row = Int32(exactly: row), let column = Int32(exactly: column) else { return try body(nil) }
        let length = PQgetlength(pointer, row, column)
        guard length > 0 || PQgetisnull(pointer, row, column) == 0, let start = PQgetvalue(pointer, row, column)
        else { return try body(nil) }
        return try body(UnsafeRawBufferPointer(start: start, count: Int(length)))
    }

    /// Rows affected by INSERT/UPDATE/DELETE (`PQcmdTuples`, digits or empty); 0 when not applicable.
    var affectedRows: Int {
        guard let text = PQcmdTuples(pointer) else { return 0 }
        return PostgresValueText.integer(UnsafeRawBufferPointer(start: text, count: strlen(text)), as: Int.self) ?? 0
    }

    /// The command tag, e.g. "INSERT 0 1" or "SELECT 25" (short: usually a small, inline string).
    var commandTag: String {
        PQcmdStatus(pointer).map { String(cString: $0) } ?? ""
    }

    /// A tuples result built by libpq in memory (`PQmakeEmptyPGresult`, `PQsetResultAttrs`,
    /// `PQsetvalue`) instead of received from a server: the same kind of `PGresult` a query
    /// returns, for rows made in Swift, tests and benchmarks. Traps only when libpq cannot
    /// allocate or a row's width differs from `columns` (a programming error).
    static func makeInMemory(columns: [PostgresColumn], values: [[String?]]) -> LibPQResult {
        guard let raw = PQmakeEmptyPGresult(nil, PGRES_TUPLES_OK) else { fatalError("libpq could not allocate a result") }
        let names = columns.map { strdup($0.name) }
        defer { names.forEach { free($0) } }
        var descriptors = columns.indices.map { index in
            PGresAttDesc(name: names[index], tableid: 0, columnid: 0, format: 0,
                         typid: columns[index].dataType.rawValue, typlen: -1, atttypmod: -1)
        }
        // PQsetResultAttrs and PQsetvalue copy names and values into the result's own memory.
        guard PQsetResultAttrs(raw, Int32(columns.count), &descriptors) == 1 else { fatalError("PQsetResultAttrs failed") }
        for (row, rowValues) in values.enumerated() {
            precondition(rowValues.count == columns.count, "row \(row) has \(rowValues.count) values for \(columns.count) columns")
            for (column, value) in rowValues.enumerated() {
                let stored: Int32
                if let value {
                    // Native strings are contiguous and NUL-terminated: withCString copies nothing.
                    stored = value.withCString {
                        PQsetvalue(raw, Int32(row), Int32(column), UnsafeMutablePointer(mutating: $0), Int32(value.utf8.count))
                    }
                } else {
                    stored = PQsetvalue(raw, Int32(row), Int32(column), nil, -1)
                }
                guard stored == 1 else { fatalError("PQsetvalue failed") }
            }
        }
        return LibPQResult(pointer: raw)
    }
}
