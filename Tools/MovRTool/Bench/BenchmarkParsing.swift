import Foundation

/// Pure helpers of `movr bench`: reading what pgbench, wrk, /proc and the PostgreSQL log print,
/// and the statistics the report quotes. No I/O, so every one is unit-tested.
enum BenchParse {
    // MARK: Statistics

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Nearest-rank percentile (`p` in 0...100) of unsorted values; 0 for none.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    // MARK: Tool output

    static func number(after marker: String, in text: String) -> Double? {
        guard let range = text.range(of: marker) else { return nil }
        let rest = text[range.upperBound...].drop(while: { $0 == " " || $0 == "\t" })
        return Double(rest.prefix(while: { $0.isNumber || $0 == "." }))
    }

    /// wrk prints latencies like `50%  1.23ms`, `99%  12.00ms`, `99%  1.02s`, `50%  950.00us`.
    static func wrkLatency(_ percentile: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 2, fields[0] == percentile else { continue }
            return milliseconds(String(fields[1]))
        }
        return nil
    }

    /// `950.00us`, `1.23ms`, `1.02s`, `2.00m` in milliseconds.
    static func milliseconds(_ value: String) -> Double? {
        for (unit, factor) in [("us", 0.001), ("ms", 1.0), ("m", 60_000.0), ("s", 1000.0)] where value.hasSuffix(unit) {
            return Double(value.dropLast(unit.count)).map { $0 * factor }
        }
        return nil
    }

    struct WrkOutput: Equatable {
        var requestsPerSecond: Double
        var requests: Int
        var p50Ms: Double?
        var p99Ms: Double?
        /// Non-2xx responses, socket errors of every kind, and JSON-RPC errors the script counted.
        var errors: Int
    }

    static func wrk(_ text: String) -> WrkOutput? {
        guard let rps = number(after: "Requests/sec:", in: text) else { return nil }
        var requests = 0
        for line in text.split(separator: "\n") where line.contains(" requests in ") {
            requests = Int(line.split(separator: " ").first ?? "") ?? 0
        }
        var errors = Int(number(after: "Non-2xx or 3xx responses:", in: text) ?? 0)
            + Int(number(after: "rpc_errors:", in: text) ?? 0)
        if let socket = text.range(of: "Socket errors:") {
            // `Socket errors: connect 0, read 0, write 0, timeout 12`
            let line = text[socket.upperBound...].prefix(while: { $0 != "\n" })
            errors += line.split(separator: ",").compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
        }
        return WrkOutput(requestsPerSecond: rps, requests: requests, p50Ms: wrkLatency("50%", in: text),
                         p99Ms: wrkLatency("99%", in: text), errors: errors)
    }

    struct PgbenchOutput: Equatable {
        var tps: Double
        var transactions: Int
        var failed: Int
        /// `-r`: mean latency (ms) of each command of the script, in script order, with its text.
        var statementLatencies: [(ms: Double, command: String)]

        static func == (a: Self, b: Self) -> Bool {
            a.tps == b.tps && a.transactions == b.transactions && a.failed == b.failed
                && a.statementLatencies.map(\.ms) == b.statementLatencies.map(\.ms)
                && a.statementLatencies.map(\.command) == b.statementLatencies.map(\.command)
        }
    }

    static func pgbench(_ text: String) -> PgbenchOutput? {
        guard let tps = number(after: "tps = ", in: text) else { return nil }
        let transactions = Int(number(after: "number of transactions actually processed: ", in: text) ?? 0)
        let failed = Int(number(after: "number of failed transactions: ", in: text) ?? 0)
        var latencies: [(Double, String)] = []
        var inStatements = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("statement latencies in milliseconds") { inStatements = true; continue }
            guard inStatements else { continue }
            let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            // pgbench 15: `  0.512  0  SELECT ...` (latency, failures, command).
            guard fields.count == 3, let ms = Double(fields[0]), Int(fields[1]) != nil else {
                if !line.trimmingCharacters(in: .whitespaces).isEmpty { inStatements = false }
                continue
            }
            latencies.append((ms, fields[2].trimmingCharacters(in: .whitespaces)))
        }
        return PgbenchOutput(tps: tps, transactions: transactions, failed: failed, statementLatencies: latencies)
    }

    /// pgbench `-l` lines: `client_id transaction_no latency_us script_no epoch epoch_us`, and
    /// with `-R` a seventh field, the schedule lag (µs from the transaction's scheduled start to
    /// its real one); the latencies in milliseconds, from the scheduled start when there is one
    /// (failed transactions, latency `failed`, left out).
    static func pgbenchTransactionLatencies(_ text: String) -> [Double] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 3, let micros = Double(fields[2]) else { return nil }
            let lag = fields.count >= 7 ? Double(fields[6]) ?? 0 : 0
            return (micros + lag) / 1000
        }
    }

    // MARK: /proc

    struct ProcStat: Equatable {
        var pid: Int32
        var name: String
        var parent: Int32
        /// utime + stime in clock ticks.
        var cpuTicks: Int64
        /// cutime + cstime: what the children this process has reaped used (a postmaster's
        /// finished backends).
        var reapedChildrenTicks: Int64 = 0
        /// When the process started, in clock ticks after boot: with the pid, names one process
        /// (a pid may be reused; a kernel worker's name changes with its work).
        var startTicks: Int64 = 0
    }

    /// The clock ticks the hypervisor gave these virtual CPUs to others (`steal`, the eighth
    /// figure of /proc/stat's first line: `cpu  user nice system idle iowait irq softirq steal ...`).
    static func stealTicks(procStat text: String) -> Int64? {
        guard let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let values = line.split(separator: " ").dropFirst().compactMap { Int64($0) }
        return values.count >= 8 ? values[7] : nil
    }

    /// /proc/PID/stat; the name (field 2) may hold spaces and parentheses, so fields are
    /// counted after its last `)`.
    static func procStat(_ text: String) -> ProcStat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"),
              let pid = Int32(text[..<open].trimmingCharacters(in: .whitespaces)) else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17,
        // starttime 22.
        guard fields.count > 19, let parent = Int32(fields[1]), let utime = Int64(fields[11]),
              let stime = Int64(fields[12]), let cutime = Int64(fields[13]), let cstime = Int64(fields[14]),
              let start = Int64(fields[19])
        else { return nil }
        return ProcStat(pid: pid, name: String(text[text.index(after: open)..<close]), parent: parent,
                        cpuTicks: utime + stime, reapedChildrenTicks: cutime + cstime, startTicks: start)
    }

    /// `VmRSS:     12345 kB` of /proc/PID/status, in kB.
    static func residentKilobytes(status text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.dropFirst("VmRSS:".count).split(whereSeparator: \.isWhitespace).first ?? "")
        }
        return nil
    }

    /// `voluntary_ctxt_switches` + `nonvoluntary_ctxt_switches` of a /proc/.../status.
    static func contextSwitches(status text: String) -> Int64? {
        var total: Int64 = 0
        var found = false
        for line in text.split(separator: "\n")
        where line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") {
            guard let colon = line.firstIndex(of: ":"),
                  let count = Int64(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)) else { return nil }
            total += count
            found = true
        }
        return found ? total : nil
    }

    /// `model name`, processor count and MemTotal of /proc/cpuinfo and /proc/meminfo.
    static func machine(cpuinfo: String, meminfo: String, processors: Int) -> String {
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" }
            ?? "unknown CPU"
        let kilobytes = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { Double($0.dropFirst("MemTotal:".count).split(separator: " ").first ?? "") } ?? 0
        return "\(model), nproc \(processors), \(String(format: "%.1f", kilobytes / 1_048_576)) GiB RAM"
    }

    // MARK: PostgreSQL log (log_statement = all)

    /// A statement a backend executed, with its bind values (nil = NULL).
    struct LoggedStatement: Equatable {
        var database: String
        var sql: String
        var parameters: [String?]
        /// Sent as the unnamed statement (`execute <unnamed>`): parsed and planned for each
        /// execution, as a service sends the queries it plans for each one's values
        /// (`PostgresQuery.plansEachExecution`), not prepared once.
        var plannedEachExecution = false
    }

    /// Statements of a server log written with `log_line_prefix = '%m [%p] %d '`: `LOG:
    /// execute <name>: SQL` or `LOG:  statement: SQL` (continued on unprefixed lines), each
    /// followed by an optional `DETAIL:  parameters: $1 = '...', ...` of the same process.
    static func loggedStatements(_ log: String) -> [LoggedStatement] {
        struct Entry { var pid: String; var database: String; var kind: String; var text: String }
        var entries: [Entry] = []
        for line in log.split(separator: "\n", omittingEmptySubsequences: false) {
            let text = String(line)
            if let entry = parsePrefixed(text) {
                entries.append(Entry(pid: entry.pid, database: entry.database, kind: entry.kind, text: entry.text))
            } else if !entries.isEmpty {
                entries[entries.count - 1].text += "\n" + text
            }
        }
        var statements: [LoggedStatement] = []
        var lastByPID: [String: Int] = [:]
        for entry in entries {
            if entry.kind == "LOG" {
                var sql: String?
                var unnamed = false
                if entry.text.hasPrefix("statement: ") {
                    sql = String(entry.text.dropFirst("statement: ".count))
                } else if entry.text.hasPrefix("execute "), let colon = entry.text.range(of: ": ") {
                    sql = String(entry.text[colon.upperBound...])
                    unnamed = entry.text[..<colon.lowerBound] == "execute <unnamed>"
                }
                if var sql {
                    // Without the line ends after it: a statement that ends a window takes the
                    // window's final line end, one followed by another line does not, and both
                    // are the same statement (MethodSQL.common matches them by text).
                    while let last = sql.last, last.isWhitespace { sql.removeLast() }
                    statements.append(LoggedStatement(database: entry.database, sql: sql, parameters: [],
                                                      plannedEachExecution: unnamed))
                    lastByPID[entry.pid] = statements.count - 1
                }
            } else if entry.kind == "DETAIL", entry.text.hasPrefix("parameters: "),
                      let index = lastByPID[entry.pid] {
                statements[index].parameters = parameters(String(entry.text.dropFirst("parameters: ".count)))
            }
        }
        return statements
    }

    /// `2026-12-03 10:00:00.123 UTC [1234] movr_rides LOG:  text` -> (pid, database, LOG, text).
    private static func parsePrefixed(_ line: String) -> (pid: String, database: String, kind: String, text: String)? {
        guard line.count > 4, line.prefix(4).allSatisfy(\.isNumber),
              let open = line.range(of: " ["), let close = line.range(of: "] ", range: open.upperBound..<line.endIndex)
        else { return nil }
        let pid = String(line[open.upperBound..<close.lowerBound])
        let rest = line[close.upperBound...]
        for kind in ["LOG", "DETAIL", "ERROR", "STATEMENT", "WARNING", "HINT", "CONTEXT", "FATAL"] {
            guard let marker = rest.range(of: "\(kind):  ") else { continue }
            let database = rest[..<marker.lowerBound].trimmingCharacters(in: .whitespaces)
            guard !database.contains(" ") else { continue }
            return (pid, database, kind, String(rest[marker.upperBound...]))
        }
        return nil
    }

    /// `$1 = 'a''b', $2 = NULL, $3 = '42'` -> ["a'b", nil, "42"].
    static func parameters(_ text: String) -> [String?] {
        var values: [String?] = []
        var index = text.startIndex
        while let dollar = text[index...].firstIndex(of: "$"),
              let equals = text.range(of: " = ", range: dollar..<text.endIndex) {
            var cursor = equals.upperBound
            if text[cursor...].hasPrefix("NULL") {
                values.append(nil)
                cursor = text.index(cursor, offsetBy: 4)
            } else if cursor < text.endIndex, text[cursor] == "'" {
                var value = ""
                cursor = text.index(after: cursor)
                while cursor < text.endIndex {
                    let character = text[cursor]
                    let next = text.index(after: cursor)
                    if character == "'" {
                        if next < text.endIndex, text[next] == "'" {
                            value.append("'")
                            cursor = text.index(after: next)
                            continue
                        }
                        cursor = next
                        break
                    }
                    value.append(character)
                    cursor = next
                }
                values.append(value)
            } else {
                break
            }
            index = cursor
        }
        return values
    }
}
