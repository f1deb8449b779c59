import Foundation

/// pgbench's query protocol (`-M`).
enum PgbenchQueryMode: String, Sendable {
    /// Each statement prepared once per connection, as the services prepare theirs.
    case prepared
    /// The unnamed statement: parsed and planned for each execution.
    case extended
}

/// Turns the statements a ride cycle really sent (from the server log, `log_statement = all`)
/// into pgbench scripts: the SQL text is kept as logged; each bind stays a bind (`-M prepared`)
/// — the cycle's ids become per-transaction variables, every other value a `-D` constant.
enum RideSQLScript {
    struct Script: Equatable {
        var text: String
        /// `-D NAME=VALUE` constants.
        var defines: [String: String]
        /// Indexes (in pgbench's command order, preamble = 0) of the statements of the start
        /// and of the end, for `-r` per-statement latencies.
        var startCommands: [Int]
        var endCommands: [Int]
        /// pgbench's `-M`: prepared, or extended (each statement parsed and planned for each
        /// execution) for a script whose statements the service sends that way.
        var queryMode = PgbenchQueryMode.prepared
    }

    /// The statements of `database` among `statements` that belong to this cycle: a bind
    /// equals one of its ids, or it deletes the outbox entry the end wrote.
    static func relevant(_ statements: [BenchParse.LoggedStatement], database: String,
                         ids: Set<String>) -> [BenchParse.LoggedStatement] {
        statements.filter { statement in
            statement.database == database
                && (statement.parameters.contains { $0.map { ids.contains($0.lowercased()) } ?? false }
                    || isOutboxDelete(statement.sql))
        }
    }

    static func isOutboxDelete(_ sql: String) -> Bool {
        sql.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("DELETE FROM outbox")
    }

    /// The cast a constant gets so the prepared statement has the type the service bound.
    static func cast(of value: String) -> String {
        if UUID(uuidString: value) != nil { return "uuid" }
        if Int64(value) != nil { return "int8" }
        if Double(value) != nil, value.contains(".") || value.contains("e") { return "float8" }
        return "text"
    }

    /// `variables` maps an id's value (lower case) to the pgbench variable that replaces it.
    /// A statement returning `outbox_id` stores its row (`\gset e_`) so the outbox delete
    /// after it deletes the entry it wrote. With `typesText` false a constant that is no uuid or
    /// number gets no cast: the server types it from where it stands (a boolean, a timestamp), as
    /// it types the service's own bind.
    static func make(preamble: String, start: [BenchParse.LoggedStatement], end: [BenchParse.LoggedStatement],
                     variables: [String: String], prefix: String, typesText: Bool = true) -> Script {
        // Without a preamble (no per-transaction ids) the first statement is command 0.
        var lines = preamble.isEmpty ? [] : [preamble]
        var defines: [String: String] = [:]
        var startCommands: [Int] = []
        var endCommands: [Int] = []
        var command = preamble.isEmpty ? -1 : 0
        for (phase, statements) in [(0, start), (1, end)] {
            for statement in statements {
                command += 1
                var sql = statement.sql.trimmingCharacters(in: .whitespacesAndNewlines)
                while sql.hasSuffix(";") { sql.removeLast() }
                for (offset, value) in statement.parameters.enumerated().reversed() {
                    let placeholder = "$\(offset + 1)"
                    let replacement: String
                    if let value {
                        if let variable = variables[value.lowercased()] {
                            replacement = ":\(variable)::uuid"
                        } else if isOutboxDelete(sql) {
                            // The service deletes delivered entries in batches (`id = ANY($1::int8[])`);
                            // per cycle, the batch is this cycle's one entry.
                            if sql.contains("\(placeholder)::int8[]") {
                                sql = sql.replacingOccurrences(of: "\(placeholder)::int8[]", with: "ARRAY[:e_outbox_id::int8]")
                                continue
                            }
                            replacement = ":e_outbox_id::int8"
                        } else {
                            let name = "\(prefix)\(command)_\(offset + 1)"
                            defines[name] = value
                            let type = cast(of: value)
                            replacement = type == "text" && !typesText ? ":\(name)" : ":\(name)::\(type)"
                        }
                    } else {
                        replacement = "NULL"
                    }
                    sql = sql.replacingOccurrences(of: placeholder, with: replacement)
                }
                lines.append(sql + (sql.contains("AS outbox_id") ? " \\gset e_" : ";"))
                if phase == 0 { startCommands.append(command) } else { endCommands.append(command) }
            }
        }
        return Script(text: lines.joined(separator: "\n") + "\n", defines: defines, startCommands: startCommands,
                      endCommands: endCommands)
    }
}
