import CLibPQ

/// Sole owner of a `PGconn*`: `PQfinish` happens exactly once, in `deinit`, also after a failed
/// connect.
///
/// `@unchecked Sendable`: the pointer is only used by the task that leases the owning
/// `PostgresConnection`, and only from inside `NIOThreadPool` work items, which the lease
/// serializes; no two threads touch it at once.
final class LibPQConnectionHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        PQfinish(pointer)
    }
}

/// Sole owner of a `PGresult*`: `PQclear` happens exactly once, in `deinit`.
/// Never leaves the thread-pool work item that created it.
final class LibPQResult {
    let pointer: OpaquePointer

    init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        PQclear(pointer)
    }

    var status: ExecStatusType { PQresultStatus(pointer) }

    func errorField(_ code: UInt8) -> String? {
        guard let value = PQresultErrorField(pointer, Int32(code)) else { return nil }
        return String(cString: value)
    }

    /// Copies every value out so nothing refers to libpq memory after `PQclear`.
    func materialize() -> PostgresRows {
        let fieldCount = Int(PQnfields(pointer))
        let rowCount = Int(PQntuples(pointer))
        var columns: [PostgresColumn] = []
        columns.reserveCapacity(fieldCount)
        for field in 0..<fieldCount {
            let name = PQfname(pointer, Int32(field)).map { String(cString: $0) } ?? ""
            columns.append(PostgresColumn(name: name, dataType: PostgresDataType(rawValue: PQftype(pointer, Int32(field)))))
        }
        var rows: [PostgresRow] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(fieldCount)
            for field in 0..<fieldCount {
                if PQgetisnull(pointer, Int32(row), Int32(field)) == 1 {
                    values.append(nil)
                } else {
                    values.append(PQgetvalue(pointer, Int32(row), Int32(field)).map { String(cString: $0) } ?? "")
                }
            }
            rows.append(PostgresRow(columns: columns, values: values))
        }
        let affected = PQcmdTuples(pointer).map { Int(String(cString: $0)) ?? 0 } ?? 0
        let tag = PQcmdStatus(pointer).map { String(cString: $0) } ?? ""
        return PostgresRows(columns: columns, rows: rows, affectedRows: affected, commandTag: tag)
    }
}
