import Foundation
import MovRDevTools

/// The processes of a stack as `movr bench` measures them: the executables `movr up` started
/// (its `pids` file: `PID region/identity` lines) and PostgreSQL (the postmaster's children).
struct BenchProcesses: Sendable {
    struct Member: Sendable, Hashable {
        var pid: Int32
        /// `us-east1/gateway`.
        var name: String
        /// `gateway`, `users`, `vehicles`, `rides`.
        var role: String { String(name.split(separator: "/").last ?? Substring(name)) }
    }

    var members: [Member]
    var postmaster: Int32?

    /// Reads `<stack directory>/pids` and `<stack directory>/pgdata/postmaster.pid`.
    static func load(stackDirectory: String) -> BenchProcesses {
        let pids = (try? String(contentsOfFile: stackDirectory + "/pids", encoding: .utf8)) ?? ""
        let members = pids.split(separator: "\n").compactMap { line -> Member? in
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2, let pid = Int32(fields[0]), kill(pid, 0) == 0 else { return nil }
            return Member(pid: pid, name: String(fields[1]))
        }
        let postmaster = ((try? String(contentsOfFile: stackDirectory + "/pgdata/postmaster.pid", encoding: .utf8)) ?? "")
            .split(separator: "\n").first.flatMap { Int32($0) }
        return BenchProcesses(members: members, postmaster: postmaster)
    }

    /// Process ids of `role` (`gateway`, ...), of one region's member when `region` is given.
    func pids(role: String, region: String? = nil) -> [Int32] {
        members.filter { member in member.role == role && (region.map { member.name == $0 + "/" + role } ?? true) }
            .map(\.pid)
    }

    /// The postmaster and its children (backends, background processes) running now.
    func postgresPIDs() -> [Int32] {
        guard let postmaster else { return [] }
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> Int32? in
            guard let pid = Int32(entry), Self.stat(pid)?.parent == postmaster else { return nil }
            return pid
        }
        return [postmaster] + children
    }

    static func stat(_ pid: Int32) -> BenchParse.ProcStat? {
        (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)).flatMap(BenchParse.procStat)
    }

    /// CPU ticks of every member, as `postgres` of the postmaster and all its children (those
    /// still running and, from the postmaster's cutime/cstime, those that exited: pgbench's
    /// backends end with its run), and as `client` of whatever sent the requests (see
    /// ``clientUsage()``).
    func cpuTicks() -> [String: Int64] {
        var values = counters { Self.stat($0)?.cpuTicks ?? 0 }
        if let postmaster, let stat = Self.stat(postmaster) { values["postgres", default: 0] += stat.reapedChildrenTicks }
        values["client"] = Int64((Self.clientUsage().cpuMicroseconds * Self.ticksPerSecond / 1e6).rounded())
        return values
    }

    /// Context switches (voluntary and not) of every member, summed over its threads, as
    /// `postgres` of the postmaster and all its children, and as `client` of the load's sender.
    func contextSwitches() -> [String: Int64] {
        var values = counters(Self.threadSwitches)
        values["client"] = Self.clientUsage().switches
        return values
    }

    /// What the load's sender used so far: this process (the load engine, for the ride cycle
    /// and the sweep) plus its finished children (wrk and pgbench, counted once reaped, so a wrk
    /// run's whole CPU falls between the snapshots around it).
    static func clientUsage() -> (cpuMicroseconds: Double, switches: Int64) {
        var own = rusage()
        var children = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &own)
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &children)
        func micros(_ time: timeval) -> Double { Double(time.tv_sec) * 1e6 + Double(time.tv_usec) }
        let cpu = micros(own.ru_utime) + micros(own.ru_stime) + micros(children.ru_utime) + micros(children.ru_stime)
        let switches = Int64(own.ru_nvcsw + own.ru_nivcsw + children.ru_nvcsw + children.ru_nivcsw)
        return (cpu, switches)
    }

    /// `counter` of every member by name and, as `postgres`, summed over the postmaster and its
    /// children.
    private func counters(_ counter: (Int32) -> Int64) -> [String: Int64] {
        var values: [String: Int64] = [:]
        for member in members { values[member.name] = counter(member.pid) }
        if postmaster != nil { values["postgres"] = postgresPIDs().reduce(0) { $0 + counter($1) } }
        return values
    }

    /// The switches of every thread of `pid` (/proc/PID/task/*/status).
    static func threadSwitches(_ pid: Int32) -> Int64 {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.reduce(0) { total, task in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            return total + (BenchParse.contextSwitches(status: text) ?? 0)
        }
    }

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// Stolen ticks of the whole machine (/proc/stat).
    static func stealTicks() -> Int64? {
        (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap { BenchParse.stealTicks(procStat: $0) }
    }

    /// Every process on the machine but the measured ones (the stack's executables, PostgreSQL,
    /// this process), kernel threads included: name and CPU ticks, its own and its reaped
    /// children's (so a short-lived process counts once its parent reaps it).
    func otherProcesses() -> [Int32: OtherProcess] {
        let measured = Set(members.map(\.pid) + [getpid()] + (postmaster.map { [$0] } ?? []))
        var result: [Int32: OtherProcess] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), !measured.contains(pid), let stat = Self.stat(pid),
                  postmaster == nil || stat.parent != postmaster else { continue }
            result[pid] = OtherProcess(name: stat.name, start: stat.startTicks,
                                       ticks: stat.cpuTicks + stat.reapedChildrenTicks)
        }
        return result
    }

    struct OtherProcess: Equatable {
        var name: String
        /// Start time (ticks after boot): a pid with another start time is another process.
        var start: Int64
        var ticks: Int64
    }

    /// Milliseconds of CPU each named program outside the measurement used between two
    /// ``otherProcesses()`` snapshots (a process that started in between counts whole), by its
    /// name at the end, largest first.
    static func others(before: [Int32: OtherProcess], after: [Int32: OtherProcess]) -> [BenchResults.NamedMillis] {
        var byName: [String: Int64] = [:]
        for (pid, now) in after {
            let used = now.ticks - (before[pid].map { $0.start == now.start ? $0.ticks : 0 } ?? 0)
            if used > 0 { byName[now.name, default: 0] += used }
        }
        return byName.map { BenchResults.NamedMillis(name: $0.key, ms: Double($0.value) * 1000 / ticksPerSecond) }
            .sorted { $0.ms != $1.ms ? $0.ms > $1.ms : $0.name < $1.name }
    }

    /// CPU microseconds per request of each process between two `cpuTicks()` snapshots.
    static func microsPerRequest(before: [String: Int64], after: [String: Int64], requests: Int) -> [String: Double] {
        perRequest(before: before, after: after, requests: requests, scale: 1e6 / ticksPerSecond)
    }

    /// CPU microseconds per transaction of PostgreSQL (`postgres`) and of pgbench (`pgbench`: the
    /// reaped child's usage, with this process's own) over a pgbench run between two
    /// `cpuTicks()` snapshots.
    static func sqlCPU(before: [String: Int64], after: [String: Int64], transactions: Int) -> [String: Double] {
        let cpu = microsPerRequest(before: before, after: after, requests: transactions)
        guard let postgres = cpu["postgres"], let client = cpu["client"] else { return [:] }
        return ["postgres": postgres, "pgbench": client]
    }

    /// Context switches per request of each process between two `contextSwitches()` snapshots.
    static func switchesPerRequest(before: [String: Int64], after: [String: Int64], requests: Int) -> [String: Double] {
        perRequest(before: before, after: after, requests: requests, scale: 1)
    }

    /// Each counter's growth between two snapshots, times `scale`, per request.
    private static func perRequest(before: [String: Int64], after: [String: Int64], requests: Int,
                                   scale: Double) -> [String: Double] {
        guard requests > 0 else { return [:] }
        return Dictionary(uniqueKeysWithValues: after.map { name, end in
            (name, Double(end - (before[name] ?? end)) * scale / Double(requests))
        })
    }

    /// Sums per-process values by role (`us-east1/gateway` -> `gateway`; `postgres` stays).
    static func byRole(_ values: [String: Double]) -> [String: Double] {
        var roles: [String: Double] = [:]
        for (name, value) in values {
            roles[String(name.split(separator: "/").last ?? Substring(name)), default: 0] += value
        }
        return roles
    }

    /// VmRSS in kB of each member.
    func residentKilobytes() -> [String: Int] {
        var result: [String: Int] = [:]
        for member in members {
            if let text = try? String(contentsOfFile: "/proc/\(member.pid)/status", encoding: .utf8),
               let kilobytes = BenchParse.residentKilobytes(status: text) {
                result[member.name] = kilobytes
            }
        }
        return result
    }
}

enum BenchMachine {
    static func describe() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        var text = BenchParse.machine(cpuinfo: cpuinfo, meminfo: meminfo,
                                      processors: ProcessInfo.processInfo.activeProcessorCount)
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        text += ", Linux \(release)"
        return text
    }

    /// `git rev-parse --short HEAD` (+ `-dirty`), or "unknown".
    static func commit() async -> String {
        let log = NSTemporaryDirectory() + "movr-bench-git-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: log) }
        guard (try? await ToolProcess.run(["/usr/bin/git", "rev-parse", "--short", "HEAD"], outputPath: log)) == 0,
              let hash = try? String(contentsOfFile: log, encoding: .utf8) else { return "unknown" }
        try? FileManager.default.removeItem(atPath: log)
        let dirty = (try? await ToolProcess.run(["/usr/bin/git", "diff", "--quiet", "HEAD"], outputPath: log)) != 0
        return hash.trimmingCharacters(in: .whitespacesAndNewlines) + (dirty ? "-dirty" : "")
    }
}
