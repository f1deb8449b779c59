@testable import MovRTool
import Testing

/// The bench's profiles (`perf report` lines sorted into kinds of work) and the report's "what
/// bounds it" lines, from fixed inputs.
@Suite struct BenchmarkProfileTests {
    static let report = """
             5.96%           475  [kernel.kallsyms]  [k] _raw_spin_unlock_irqrestore
             3.00%           239  [kernel.kallsyms]  [k] finish_task_switch.isra.0
             2.00%           159  [kernel.kallsyms]  [k] tcp_sendmsg_locked
             1.00%            80  [kernel.kallsyms]  [k] do_syscall_64
             1.31%           104  movr-gateway       [.] swift_retain
             0.65%            52  movr-gateway       [.] $s7MovRRPC11JSONScannerV10skipStringyyF
             0.50%            40  movr-gateway       [.] $s8NIOPosix19SelectableEventLoopC3runyyKF
             0.40%            32  movr-gateway       [.] $sSS18_uncheckedFromUTF8_7isASCIISSSRys5UInt8VG_SbtFZ
             0.30%            24  movr-gateway       [.] swift::RefCounts<swift::RefCountBitsT<(swift::RefCountInlinedness)1> >::doDecrementSlow<(swift::PerformDeinit)1>
             0.30%            24  movr-gateway       [.] c_nio_llhttp__internal__run
             0.25%            20  movr-gateway       [.] $s20FoundationEssentials4DateV3nowACvgZ
             0.20%            16  movr-gateway       [.] 0x00000000000dcd0d
             0.77%            61  libc.so.6          [.] _int_malloc
             0.60%            48  libcrypto.so.3     [.] aesni_gcm_encrypt
             0.40%            32  libssl.so.3        [.] ssl3_write_bytes
             0.30%            24  libpq.so.5.15      [.] PQgetResult
             0.20%            16  postgres           [.] hash_search_with_hash_value

        """

    @Test func perfReportLinesAreParsed() {
        let lines = BenchParse.perfReport(Self.report + "not a line\n   1.0% x\n")
        #expect(lines.count == 17)
        #expect(lines[0] == BenchParse.PerfLine(samples: 475, dso: "[kernel.kallsyms]", kernel: true,
                                                symbol: "_raw_spin_unlock_irqrestore"))
        // A C++ name with spaces stays whole.
        #expect(lines[8].symbol.hasPrefix("swift::RefCounts<") && lines[8].symbol.hasSuffix("(swift::PerformDeinit)1>"))
        #expect(!lines[4].kernel && lines[4].dso == "movr-gateway")
    }

    @Test func samplesAreSortedByWhoseCodeRan() {
        func kind(_ dso: String, _ symbol: String, kernel: Bool = false) -> ProfileKind {
            ProfileKind.classify(dso: dso, symbol: symbol, kernel: kernel)
        }
        #expect(kind("[kernel.kallsyms]", "finish_task_switch.isra.0", kernel: true) == .scheduler)
        #expect(kind("[kernel.kallsyms]", "_raw_spin_unlock_irqrestore", kernel: true) == .scheduler)
        #expect(kind("[kernel.kallsyms]", "tcp_sendmsg_locked", kernel: true) == .network)
        #expect(kind("[kernel.kallsyms]", "do_syscall_64", kernel: true) == .kernel)
        #expect(kind("movr-gateway", "$s7MovRRPC11JSONScannerV10skipStringyyF") == .movr)
        #expect(kind("movr-vehicles", "$s16MovRRPCTransport14RPCHTTPHandlerC8dispatchyyF") == .movr)
        #expect(kind("movr-gateway", "$s8NIOPosix19SelectableEventLoopC3runyyKF") == .nio)
        #expect(kind("movr-gateway", "$s7NIOCore10ByteBufferV5writeyyF") == .nio)
        #expect(kind("movr-gateway", "c_nio_llhttp__internal__run") == .nio)
        #expect(kind("movr-gateway", "$sSS18_uncheckedFromUTF8_7isASCIISSSRys5UInt8VG_SbtFZ") == .swiftRuntime)
        #expect(kind("movr-gateway", "swift_retain") == .swiftRuntime)
        #expect(kind("movr-gateway", "withStatusRecordLock") == .swiftRuntime)
        #expect(kind("movr-gateway", "$s20FoundationEssentials4DateV3nowACvgZ") == .foundation)
        #expect(kind("movr-gateway", "0x00000000000dcd0d") == .other)
        #expect(kind("libcrypto.so.3", "aesni_gcm_encrypt") == .openSSL)
        #expect(kind("libssl.so.3", "ssl3_write_bytes") == .openSSL)
        #expect(kind("libpq.so.5.15", "PQgetResult") == .libpq)
        #expect(kind("libc.so.6", "_int_malloc") == .libc)
        #expect(kind("postgres", "hash_search_with_hash_value") == .postgres)
        #expect(ProfileKind.swiftModule("$s7MovRRPC11JSONScannerV") == "MovRRPC")
        #expect(ProfileKind.swiftModule("$sSS18_uncheckedFromUTF8") == nil)
        #expect(ProfileKind.swiftModule("$s99Short") == nil)
    }

    @Test func aProfileSharesItsRolesSamplesByKind() {
        let profile = BenchParse.profile(workload: "w", role: "gateway", lines: BenchParse.perfReport(Self.report), top: 3)
        #expect(profile.samples == 1446)
        let total = profile.shares.values.reduce(0, +)
        #expect(abs(total - 100) < 0.001)
        // 475 + 239 of 1446 samples
        #expect(abs((profile.shares[ProfileKind.scheduler.rawValue] ?? 0) - 714 * 100 / 1446.0) < 0.001)
        #expect(abs((profile.shares[ProfileKind.openSSL.rawValue] ?? 0) - 80 * 100 / 1446.0) < 0.001)
        #expect(profile.top.map(\.name) == ["_raw_spin_unlock_irqrestore", "finish_task_switch.isra.0", "tcp_sendmsg_locked"])
        #expect(profile.top[0].kind == ProfileKind.scheduler.rawValue)
    }

    @Test func theReportShowsEachProfileAndWhyOneIsMissing() {
        var results = BenchmarkParsingTests.results(ratioGateway: 0.6)
        var run = BenchResults.ProfileRun(workload: "vehicles.list 25 rows", seconds: 5, frequency: 999)
        run.profiles = [BenchParse.profile(workload: run.workload, role: "gateway", lines: BenchParse.perfReport(Self.report))]
        results.profiles = [run,
                            BenchResults.ProfileRun(workload: "ride cycle", seconds: 5, frequency: 999,
                                                    failure: "/usr/bin/perf not found (make bench installs linux-perf)")]
        let text = results.markdown
        #expect(text.contains("| kind | gateway |"))
        #expect(text.contains("| samples | 1446 |"))
        #expect(text.contains("| \(ProfileKind.scheduler.rawValue) | 49.4 % |"))
        #expect(text.contains("- gateway: 32.8 % `_raw_spin_unlock_irqrestore`, 16.5 % `finish_task_switch.isra.0`"))
        #expect(text.contains("**ride cycle** (5 s): not profiled: /usr/bin/perf not found"))
        // A kind no sample fell in has no row.
        #expect(!text.contains("| \(ProfileKind.other.rawValue) | – |"))
    }

    /// What other programs used: per-process deltas by name, new processes whole, largest first.
    @Test func otherProgramsAndStolenTime() throws {
        #expect(BenchParse.stealTicks(procStat: "cpu  100 5 50 1000 7 3 2 9 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n") == 9)
        #expect(BenchParse.stealTicks(procStat: "intr 1 2 3\n") == nil)
        typealias Other = BenchProcesses.OtherProcess
        let before: [Int32: Other] = [1: .init(name: "systemd", start: 1, ticks: 500),
                                      84: .init(name: "kdamond.0", start: 5, ticks: 1000),
                                      90: .init(name: "kworker/u8:3-events_unbound", start: 7, ticks: 1400),
                                      900: .init(name: "bash", start: 80, ticks: 7),
                                      960: .init(name: "ld", start: 90, ticks: 100)]
        let after: [Int32: Other] = [1: .init(name: "systemd", start: 1, ticks: 503),
                                     84: .init(name: "kdamond.0", start: 5, ticks: 1012),
                                     // a kernel worker renamed by its work: the same process
                                     90: .init(name: "kworker/u8:3-writeback", start: 7, ticks: 1401),
                                     900: .init(name: "bash", start: 80, ticks: 7),
                                     950: .init(name: "tool", start: 95, ticks: 4), 951: .init(name: "tool", start: 96, ticks: 2),
                                     // a pid reused by another process: counted whole
                                     960: .init(name: "cc1", start: 97, ticks: 6)]
        let others = BenchProcesses.others(before: before, after: after)
        let tick = 1000 / BenchProcesses.ticksPerSecond
        #expect(others == [.init(name: "kdamond.0", ms: 12 * tick), .init(name: "cc1", ms: 6 * tick),
                           .init(name: "tool", ms: 6 * tick), .init(name: "systemd", ms: 3 * tick),
                           .init(name: "kworker/u8:3-writeback", ms: 1 * tick)])
    }

    /// Each target not met gets a line from the run's own figures; met ones get none.
    @Test func targetsNotMetSayWhatBoundsThem() {
        var results = BenchmarkParsingTests.results(ratioGateway: 0.4)
        results.processors = 2
        var run = BenchResults.ProfileRun(workload: "vehicles.list 25 rows", seconds: 5, frequency: 999)
        run.profiles = [BenchParse.profile(workload: run.workload, role: "vehicles", lines: BenchParse.perfReport(Self.report))]
        results.profiles = [run]
        results.lists[0].cpu = [["us-east1/gateway": 90, "us-east1/vehicles": 100, "us-west1/vehicles": 60, "postgres": 30,
                                 "client": 40]]
        let bounds = results.bounds
        // 400 req/s x (90 + 160 + 30 + 40) µs = 0.128 cores of 2
        #expect(bounds.contains { $0.hasPrefix("**vehicles.list 25 rows, ratio 0.400x**: at 400 requests/s the processes used 320 µs of CPU per request (gateway 90, vehicles 160, PostgreSQL 30, wrk 40), 0.13 cores of the machine's 2 (6 %): the cores were not full") })
        #expect(bounds.contains { $0.contains("pgbench's transaction on the same statement costs 49 µs (PostgreSQL 27, pgbench 22)") })
        #expect(bounds.contains { $0.hasPrefix("**CPU per vehicles.list, vehicles: 160 µs** (target 150), 2.00 context switches per request. Profile: \(ProfileKind.scheduler.rawValue) 49 %") })
        #expect(!bounds.contains { $0.contains("CPU per vehicles.list, gateway") }, "the gateway's 90 µs meets its target")
        #expect(bounds.contains { $0.hasPrefix("**idle RSS**: movr-gateway 39.1 MB") })

        var half = BenchResults.SweepPoint(label: "50%", rate: 300, achieved: 300, p50Ms: 1, p99Ms: 6.2, maxMs: 30,
                                           errors: 0, late: 2, unsent: 0, sqlP99Ms: 0.5, sqlMaxMs: 9)
        half.slowByTenth = [5, 0, 0, 0, 0, 0, 0, 0, 0, 0] + Array(repeating: 0, count: 80) + [20, 15, 0, 0, 0, 0, 0, 0, 0, 0]
        half.others = [.init(name: "kdamond.0", ms: 430), .init(name: "sshd", ms: 20), .init(name: "bash", ms: 10),
                       .init(name: "cron", ms: 10)]
        half.stealMs = 3
        results.sweep = [half]
        #expect(results.bounds.contains("**vehicles.list p99 at half load: 6.20 ms**: 40 requests over 5 ms where a p99 under it allows about 30; 5 of them were due in the run's first second; all of them fall in 3 of its 100 tenths of a second; the load engine sent 2 requests late. Other programs on the machine used 470 ms of CPU during the 10 s run (kdamond.0 430, sshd 20, bash 10); the hypervisor stole 3 ms. pgbench alone at the same rate: p99 0.50 ms, max 9.00 ms."))
        half.upkeep = DatabaseUpkeep(checkpointBuffers: 4210, checkpoints: 1, autovacuums: 2)
        results.sweep = [half]
        #expect(results.bounds.contains { $0.contains("the hypervisor stole 3 ms. The database's upkeep during the run: 4210 buffers written by checkpoints, 2 autovacuum or autoanalyze runs. pgbench alone") })
        half.upkeep = DatabaseUpkeep(checkpointBuffers: 0, checkpoints: 0, autovacuums: 0)
        results.sweep = [half]
        #expect(results.bounds.contains { $0.contains("the hypervisor stole 3 ms. No checkpoint wrote and no autovacuum ran during the run. pgbench alone") })

        results.lists[0].gateway = [.init(throughput: 6000, p50Ms: 3, p99Ms: 4, errors: 0)]
        results.lists[0].pgbench = [.init(throughput: 20_000, p50Ms: 1, p99Ms: 2, errors: 0)]
        #expect(results.bounds.contains { $0.contains("1.92 cores of the machine's 2 (96 %): the cores are full, so the rate is bounded by the CPU each request costs") })

        results.sweep = []
        results.footprints = [.init(executable: "gateway", residentKilobytes: [20_000], readySeconds: 0.2)]
        results.lists[0].cpu = [["us-east1/gateway": 90, "us-east1/vehicles": 100, "postgres": 30]]
        results.lists[0].gateway = [.init(throughput: 600, p50Ms: 3, p99Ms: 4, errors: 0)]
        results.lists[0].pgbench = [.init(throughput: 1000, p50Ms: 1, p99Ms: 2, errors: 0)]
        #expect(results.bounds.isEmpty)
        #expect(results.markdown.contains("### What bounds the targets not met\n\nEvery target above is met."))
    }
}
