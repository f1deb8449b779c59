import Foundation
import MovRPostgres
import MovRServiceDatabase
import NIOPosix

/// What one statement costs through MovR's database client, next to pgbench on the same server
/// and statement, and a thread-pool hand-off alone. The client runs libpq non-blocking on the
/// caller's thread and waits for the answer through its epoll watcher thread; until 2026-12-03
/// each statement was a blocking call handed to a pool thread. The hand-off row prices that
/// older design in the same run, for comparison.
extension BenchResults {
    struct DatabaseHop: Codable, Sendable {
        /// `SELECT 1` by pgbench `-M prepared`, one client: p50 latency and CPU per statement
        /// of the pgbench process (µs).
        var pgbenchP50Micros: Double?
        var pgbenchCPUMicros: Double?
        /// The same statement through `PostgresClient` (pool of one), one task, as the services
        /// configure it (`--db-spin-us` at its default: the task polls for the answer itself).
        var clientP50Micros: Double
        var clientCPUMicros: Double
        var statements: Int
        /// The same with `--db-spin-us 0`: every wait through the watcher thread.
        var watcherP50Micros: Double?
        var watcherCPUMicros: Double?
        var watcherStatements: Int?
        /// An empty work item handed to an `NIOThreadPool` and its completion awaited: the
        /// hand-off a blocking design adds to every statement, without libpq or the server.
        var hopP50Micros: Double
        var hopCPUMicros: Double
    }
}

extension Benchmark {
    /// 7. One statement, one client: pgbench, MovR's client, and a bare thread-pool hand-off.
    func databaseHop(databaseURL: String, work: String) async throws -> BenchResults.DatabaseHop {
        let script = work + "/select1.sql"
        try Data("SELECT 1;\n".utf8).write(to: URL(fileURLWithPath: script))
        Console.line("database client: pgbench, one client, SELECT 1...")
        let childCPUBefore = Self.cpuMicros(children: true)
        let pgbench = try await pgbench(script: script, databaseURL: databaseURL, clients: 1, work: work, name: "select1")
        let childCPU = Self.cpuMicros(children: true) - childCPUBefore

        let spinning = DatabaseSettings.spinMicroseconds.defaultValue
        Console.line("database client: PostgresClient, one task, SELECT 1 (db-spin-us \(spinning))...")
        let (samples, selfCPU) = try await clientStatements(databaseURL: databaseURL, spinMicroseconds: spinning)
        Console.line("database client: PostgresClient, one task, SELECT 1 (db-spin-us 0)...")
        let (watched, watchedCPU) = try await clientStatements(databaseURL: databaseURL, spinMicroseconds: 0)

        Console.line("database client: a thread-pool hand-off alone...")
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        var hops: [Double] = []
        let hopCPUBefore = Self.cpuMicros(children: false)
        for _ in 0..<max(1000, samples.count) {
            let started = ContinuousClock.now
            try await pool.runIfActive {}
            hops.append((ContinuousClock.now - started).inSeconds * 1e6)
        }
        let hopCPU = Self.cpuMicros(children: false) - hopCPUBefore
        try await pool.shutdownGracefully()

        return BenchResults.DatabaseHop(
            pgbenchP50Micros: pgbench.run.p50Ms.map { $0 * 1000 },
            pgbenchCPUMicros: pgbench.run.requests > 0 ? childCPU / Double(pgbench.run.requests) : nil,
            clientP50Micros: BenchParse.percentile(samples, 50),
            clientCPUMicros: samples.isEmpty ? 0 : selfCPU / Double(samples.count),
            statements: samples.count,
            watcherP50Micros: BenchParse.percentile(watched, 50),
            watcherCPUMicros: watched.isEmpty ? 0 : watchedCPU / Double(watched.count),
            watcherStatements: watched.count,
            hopP50Micros: BenchParse.percentile(hops, 50),
            hopCPUMicros: hops.isEmpty ? 0 : hopCPU / Double(hops.count))
    }

    /// User + system CPU of this process (all threads) or of its waited-for children, in µs.
    static func cpuMicros(children: Bool) -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t((children ? RUSAGE_CHILDREN : RUSAGE_SELF).rawValue), &usage)
        func micros(_ time: timeval) -> Double { Double(time.tv_sec) * 1e6 + Double(time.tv_usec) }
        return micros(usage.ru_utime) + micros(usage.ru_stime)
    }

    /// `SELECT 1` one at a time through a client of one connection for the run's seconds:
    /// each statement's latency (µs) and the process's CPU over them (µs).
    private func clientStatements(databaseURL: String, spinMicroseconds: Int) async throws -> ([Double], Double) {
        var configuration = PostgresConfiguration(url: databaseURL, poolSize: 1, applicationName: "movr-bench")
        configuration.answerSpinMicroseconds = spinMicroseconds
        configuration.answerSpinGate = DatabaseSettings.spinGate
        let client = PostgresClient(configuration: configuration, logger: logger)
        client.start()
        var samples: [Double] = []
        do {
            _ = try await client.query("SELECT 1")  // connects and prepares
            let before = Self.cpuMicros(children: false)
            let end = ContinuousClock.now + .seconds(options.seconds)
            while ContinuousClock.now < end {
                let started = ContinuousClock.now
                _ = try await client.query("SELECT 1")
                samples.append((ContinuousClock.now - started).inSeconds * 1e6)
            }
            let cpu = Self.cpuMicros(children: false) - before
            await client.shutdown()
            return (samples, cpu)
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
