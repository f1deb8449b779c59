import Foundation
import MovRDevTools

// Where each process's CPU goes during a workload: `perf record` of the whole machine (every
// process, every thread, kernel included) during one extra run that no median counts, then
// `perf report` per process, its samples sorted into a few kinds of work. The report's "what
// bounds it" lines cite these shares.

extension BenchResults {
    /// One process role's profile during one workload.
    struct Profile: Codable, Sendable {
        /// `vehicles.list 25 rows`, `ride cycle`.
        var workload: String
        /// `gateway`, `vehicles`, `users`, `rides`, `postgres`.
        var role: String
        var samples: Int
        /// Percent of the role's samples by ``ProfileKind`` raw value.
        var shares: [String: Double]
        /// The role's largest symbols: percent of its samples, kind, name (demangled when the
        /// toolchain's `swift-demangle` is at hand).
        var top: [Symbol]

        struct Symbol: Codable, Sendable {
            var percent: Double
            var kind: String
            var name: String
        }
    }

    /// A workload's profile: its roles, or why none was taken.
    struct ProfileRun: Codable, Sendable {
        var workload: String
        var seconds: Double
        var frequency: Int
        var profiles: [Profile] = []
        var failure: String?
    }
}

/// The kinds of work a sample is sorted into, in report order.
enum ProfileKind: String, CaseIterable, Sendable {
    case scheduler = "kernel: waking and switching threads"
    case network = "kernel: TCP/IP and sockets"
    case kernel = "kernel: other (system calls, interrupts, epoll)"
    case swiftRuntime = "Swift runtime and standard library"
    case nio = "SwiftNIO"
    case movr = "MovR"
    case foundation = "Foundation"
    case openSSL = "OpenSSL"
    case libpq = "libpq"
    case libc = "libc (malloc, memcpy, locks)"
    case postgres = "PostgreSQL server"
    case other = "other"

    private static let schedulerPrefixes = [
        "finish_task_switch", "__schedule", "schedule", "__switch_to", "switch_mm", "try_to_wake_up", "ttwu_",
        "enqueue_", "dequeue_", "pick_next_", "update_curr", "update_load_avg", "select_task_rq", "psi_",
        "__wake_up", "wake_up", "set_next_entity", "put_prev_", "check_preempt", "resched_", "newidle_balance",
        "sched_", "__resched", "prepare_task_switch",
        // A virtual machine's timer cannot sample while interrupts are off: those samples land
        // where interrupts come back on. Call graphs put most of the first in wake-ups (a socket
        // write waking its reader) and the last in reschedule interrupts; the second is the
        // scheduler's run-queue unlock after a switch (from the kernel's source).
        "_raw_spin_unlock_irq", "irqentry_exit_to_user_mode",
    ]
    private static let networkPrefixes = [
        "tcp_", "__tcp", "ip_", "__ip", "ipv4_", "inet_", "__inet", "sock_", "__sock", "sk_", "__sk", "skb_", "__skb",
        "kfree_skb", "consume_skb", "__dev_queue_xmit", "dev_hard_start_xmit", "loopback_xmit", "net_rx_action",
        "__netif", "netif_", "process_backlog", "__napi", "napi_", "nf_", "__sys_sendto", "__sys_recvfrom",
        "__sys_sendmsg", "__sys_recvmsg", "release_sock", "lock_sock", "__release_sock", "unix_", "raw_v4",
        "dst_", "validate_xmit", "sch_direct_xmit", "__qdisc", "__copy_skb", "csum_", "__x64_sys_sendto",
        "__x64_sys_recvfrom",
    ]

    /// Sorts one `perf report` line's sample by the object it ran in (`dso`) and its symbol.
    static func classify(dso: String, symbol: String, kernel: Bool) -> ProfileKind {
        if kernel || dso.hasPrefix("[kernel") {
            if schedulerPrefixes.contains(where: symbol.hasPrefix) { return .scheduler }
            if networkPrefixes.contains(where: symbol.hasPrefix) { return .network }
            return .kernel
        }
        if dso.hasPrefix("libssl") || dso.hasPrefix("libcrypto") { return .openSSL }
        if dso.hasPrefix("libpq") { return .libpq }
        if dso.hasPrefix("libc.") || dso.hasPrefix("libc-") || dso.hasPrefix("libm.") || dso.hasPrefix("ld-linux") {
            return .libc
        }
        if dso == "postgres" { return .postgres }
        if dso.hasPrefix("libFoundation") || dso.hasPrefix("libicu") || dso.hasPrefix("lib_Foundation") {
            return .foundation
        }
        if dso.hasPrefix("libswift") || dso.hasPrefix("libdispatch") || dso.hasPrefix("libBlocksRuntime") {
            return .swiftRuntime
        }
        guard dso.hasPrefix("movr") else { return .other }
        // The executables link the Swift runtime, Foundation and every package statically: the
        // symbol says whose code it is. `$s` + length + module: a module's own symbol.
        if symbol.hasPrefix("c_nio_") { return .nio }
        if symbol.hasPrefix("$s"), let module = swiftModule(symbol) {
            if module.hasPrefix("NIO") || module.hasPrefix("_NIO") || module.hasPrefix("CNIO") { return .nio }
            if module.hasPrefix("MovR") { return .movr }
            if module.hasPrefix("Foundation") || module.hasPrefix("_Foundation") { return .foundation }
            if module == "_Concurrency" || module == "Synchronization" || module == "_StringProcessing" {
                return .swiftRuntime
            }
            return .other
        }
        if ["$s", "swift", "_swift", "__swift"].contains(where: symbol.hasPrefix) {
            // `$ss…`/`$sS…`: the standard library's own symbols and its types' specializations.
            return .swiftRuntime
        }
        if symbol.hasPrefix("u_") || symbol.hasPrefix("ucol_") || symbol.hasPrefix("icu_") { return .foundation }
        if symbol.hasPrefix("0x") { return .other }
        // C++ of the Swift runtime (`withStatusRecordLock`, `(anonymous namespace)::…`).
        return .swiftRuntime
    }

    /// The module of a mangled Swift symbol `$s<length><module>…` (nil for the standard
    /// library's substitutions, `$ss…`, `$sS…`).
    static func swiftModule(_ symbol: String) -> String? {
        var rest = symbol.utf8.dropFirst(2)
        var length = 0
        while let byte = rest.first, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            length = length * 10 + Int(byte - UInt8(ascii: "0"))
            rest = rest.dropFirst()
        }
        guard length > 0, rest.count >= length else { return nil }
        return String(decoding: rest.prefix(length), as: UTF8.self)
    }
}

extension BenchParse {
    /// One line of `perf report --stdio -q --no-children -F overhead,sample,dso,sym`:
    /// `     5.96%           475  [kernel.kallsyms]  [k] _raw_spin_unlock_irqrestore`.
    struct PerfLine: Equatable, Sendable {
        var samples: Int
        var dso: String
        var kernel: Bool
        var symbol: String
    }

    static func perfReport(_ text: String) -> [PerfLine] {
        text.split(separator: "\n").compactMap { line -> PerfLine? in
            let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
            guard fields.count == 4, fields[0].hasSuffix("%"), let samples = Int(fields[1]) else { return nil }
            let rest = fields[3].trimmingCharacters(in: .whitespaces)
            let kernel = rest.hasPrefix("[k]")
            guard kernel || rest.hasPrefix("[.]") else { return nil }
            return PerfLine(samples: samples, dso: String(fields[2]), kernel: kernel,
                            symbol: String(rest.dropFirst(3)).trimmingCharacters(in: .whitespaces))
        }
    }

    /// A role's profile from its `perf report` lines: shares by kind and the `top` largest symbols.
    static func profile(workload: String, role: String, lines: [PerfLine], top: Int = 6) -> BenchResults.Profile {
        let total = lines.reduce(0) { $0 + $1.samples }
        var shares: [String: Double] = [:]
        for line in lines {
            let kind = ProfileKind.classify(dso: line.dso, symbol: line.symbol, kernel: line.kernel)
            shares[kind.rawValue, default: 0] += Double(line.samples)
        }
        if total > 0 { shares = shares.mapValues { $0 * 100 / Double(total) } }
        let largest = lines.sorted { $0.samples > $1.samples }.prefix(top).map { line in
            BenchResults.Profile.Symbol(percent: total > 0 ? Double(line.samples) * 100 / Double(total) : 0,
                                        kind: ProfileKind.classify(dso: line.dso, symbol: line.symbol,
                                                                   kernel: line.kernel).rawValue,
                                        name: line.symbol)
        }
        return BenchResults.Profile(workload: workload, role: role, samples: total, shares: shares, top: Array(largest))
    }
}

/// `perf record -a` around one run of a workload; then one `perf report` per role.
struct BenchProfiler: Sendable {
    static let perf = "/usr/bin/perf"
    /// Samples per second per CPU: a fraction of a percent of the machine, and a few thousand
    /// samples per role in a few seconds.
    static let frequency = 999

    let work: String

    /// Profiles the whole machine for `seconds` while `load` runs: the recording starts half a
    /// second into the load, which must last at least a second longer than `seconds`, so the
    /// profile holds only loaded time. `roles` maps a role to its processes' ids, read after the
    /// run (PostgreSQL's backends are the load's connections).
    func profile(workload: String, seconds: Double, roles: @Sendable () -> [(String, [Int32])],
                 load: @escaping @Sendable () async throws -> Void) async -> BenchResults.ProfileRun {
        var run = BenchResults.ProfileRun(workload: workload, seconds: seconds, frequency: Self.frequency)
        guard FileManager.default.isExecutableFile(atPath: Self.perf) else {
            run.failure = "\(Self.perf) not found (make bench installs linux-perf)"
            return run
        }
        let name = workload.replacingOccurrences(of: " ", with: "-")
        let data = work + "/perf-\(name).data"
        let recordLog = work + "/perf-record-\(name).log"
        try? FileManager.default.removeItem(atPath: data)
        let loading = Task { try await load() }
        let status: Int32
        do {
            try await Task.sleep(for: .milliseconds(500))
            let recorder = try await ToolProcess.start(
                [Self.perf, "record", "-a", "-e", "cpu-clock", "-F", "\(Self.frequency)", "-o", data, "--",
                 "sleep", String(format: "%.1f", seconds)], outputPath: recordLog)
            status = await recorder.wait()
            try await loading.value
        } catch {
            _ = try? await loading.value
            run.failure = "profiled run failed: \(error)"
            return run
        }
        guard status == 0, FileManager.default.fileExists(atPath: data) else {
            let log = (try? String(contentsOfFile: recordLog, encoding: .utf8)) ?? ""
            run.failure = "perf record failed (\(status)): \(log.split(separator: "\n").last ?? "")"
            return run
        }
        for (role, pids) in roles() where !pids.isEmpty {
            let log = work + "/perf-report-\(name)-\(role).txt"
            let arguments = [Self.perf, "report", "-i", data, "--stdio", "-q", "--no-children",
                             "--pid", pids.map(String.init).joined(separator: ","), "-F", "overhead,sample,dso,sym"]
            guard (try? await ToolProcess.run(arguments, outputPath: log)) == 0,
                  let text = try? String(contentsOfFile: log, encoding: .utf8) else {
                run.failure = "perf report failed for \(role); see \(log)"
                continue
            }
            var profile = BenchParse.profile(workload: workload, role: role, lines: BenchParse.perfReport(text))
            profile.top = await demangled(profile.top)
            run.profiles.append(profile)
        }
        try? FileManager.default.removeItem(atPath: data)
        return run
    }

    /// The symbols' names through the toolchain's `swift-demangle --simplified`, when found.
    private func demangled(_ symbols: [BenchResults.Profile.Symbol]) async -> [BenchResults.Profile.Symbol] {
        let candidates = ["/opt/swift/usr/bin/swift-demangle", "/usr/bin/swift-demangle"]
        guard let tool = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else { return symbols }
        // Only Swift's mangled names: the tool rewrites some C++ names of the runtime.
        let mangled = symbols.map(\.name).filter { $0.hasPrefix("$s") }
        guard !mangled.isEmpty,
              let (status, text) = try? await ToolProcess.output([tool, "--simplified", "--compact"] + mangled),
              status == 0 else { return symbols }
        let names = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard names.count >= mangled.count else { return symbols }
        let readable = Dictionary(zip(mangled, names), uniquingKeysWith: { first, _ in first })
        return symbols.map { symbol in
            var symbol = symbol
            if let name = readable[symbol.name], !name.isEmpty { symbol.name = name }
            return symbol
        }
    }
}

extension BenchResults {
    /// The "Profiles" section's body.
    var profilesMarkdown: [String] {
        var out: [String] = []
        out.append("Where each process's CPU went, from one extra run of each workload that no figure above counts: `perf record -a -e cpu-clock -F \(BenchProfiler.frequency)` (the whole machine, kernel included) for a few seconds inside the run, then `perf report --pid` per role (all regions' processes of the role; `postgres`: the postmaster and its children). Percent of each role's samples by the kind of code they ran in, then each role's largest symbols. On this virtual machine a sample due while interrupts were off lands where they come back on (`_raw_spin_unlock_irqrestore`, `_raw_spin_unlock_irq`, `irqentry_exit_to_user_mode`); call graphs (`perf record -g`) taken on this machine put most of the first under socket writes waking the reader (`sock_def_readable`) and the last under reschedule interrupts; the second is where the scheduler releases the run queue after a switch (from the kernel's source, not checked with a call graph here). They count as waking and switching threads.")
        out.append("")
        if profiles.isEmpty { out.append("Not profiled (see the errors above).") }
        for run in profiles {
            out.append("**\(run.workload)** (\(String(format: "%.0f", run.seconds)) s)\(run.failure.map { ": not profiled: \($0)" } ?? "")")
            out.append("")
            guard !run.profiles.isEmpty else { continue }
            out.append("| kind | " + run.profiles.map(\.role).joined(separator: " | ") + " |")
            out.append("|---|" + run.profiles.map { _ in "---|" }.joined())
            out.append("| samples | " + run.profiles.map { "\($0.samples)" }.joined(separator: " | ") + " |")
            for kind in ProfileKind.allCases {
                let cells = run.profiles.map { $0.shares[kind.rawValue] }
                guard cells.contains(where: { ($0 ?? 0) >= 0.05 }) else { continue }
                out.append("| \(kind.rawValue) | " + cells.map { $0.map { String(format: "%.1f %%", $0) } ?? "–" }
                    .joined(separator: " | ") + " |")
            }
            out.append("")
            for profile in run.profiles {
                let symbols = profile.top.map { symbol in
                    let name = symbol.name.count > 90 ? String(symbol.name.prefix(87)) + "..." : symbol.name
                    let cell = name.replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "|", with: "/")
                    return String(format: "%.1f %% ", symbol.percent) + "`\(cell)`"
                }
                out.append("- \(profile.role): " + symbols.joined(separator: ", "))
            }
            out.append("")
        }
        return out
    }

    /// A role's profile in `workload`, if taken.
    func profile(_ workload: String, _ role: String) -> Profile? {
        profiles.first { $0.workload == workload }?.profiles.first { $0.role == role }
    }
}
