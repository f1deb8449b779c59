import Foundation
import MovRRPC
import MovRRPCTransport
import NIOCore
import NIOPosix

/// The load engine: runs a workload's workers for a while, closed loop or open model (see
/// ``LoadSchedule``), and reports per-operation latency and outcomes. Usable in-process, e.g.
/// by a benchmark sweeping fixed rates.
public enum LoadGenerator {
    /// Totals while the run goes on, once a second.
    public struct Progress: Sendable {
        public var elapsed: Duration
        public var count: Int
        public var errors: Int
        public var expected: Int
        /// Requests per second over the last interval.
        public var rate: Double
    }

    public static func run<W: LoadWorkload>(_ configuration: LoadConfiguration, workload: W,
                                            timeline: LoadTimeline? = nil,
                                            progress: (@Sendable (Progress) -> Void)? = nil) async -> LoadReport {
        await workload.prepare(concurrency: max(1, configuration.concurrency))
        let threshold = configuration.slowThresholdMs.flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
        let recorder = LoadRecorder(slowThreshold: threshold.map { .nanoseconds(Int64(min($0, 1e9) * 1e6)) })
        let startDate = Date()
        let schedule = LoadSchedule(duration: .nanoseconds(Int64(configuration.duration * 1e9)), rate: configuration.rate)
        let lateThreshold = Duration.nanoseconds(Int64(configuration.lateThresholdMs * 1e6))
        let ticker = progress.map { report in
            Task { await tick(recorder: recorder, schedule: schedule, report: report) }
        }
        // Each worker runs on one of the clients' event loops (round robin): its calls take that
        // loop's connections and its replies and timers resume it there, with no hop to Swift's
        // global executor and back per request (this process shares the machine with what it
        // measures).
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<max(1, configuration.concurrency) {
                let loop = loops[index % loops.count]
                group.addTask {
                    await RPCEventLoopPreference.run(on: loop) {
                        var worker = workload.makeWorker(index: index, of: configuration.concurrency)
                        await drive(&worker, schedule: schedule, recorder: recorder, lateThreshold: lateThreshold,
                                    timeline: timeline, loop: loop)
                    }
                }
            }
        }
        ticker?.cancel()
        let elapsed = schedule.start.map { min(ContinuousClock.now, $0 + schedule.duration) - $0 } ?? .zero
        let scheduled = schedule.scheduled
        return LoadReport(recorder: recorder, configuration: configuration, start: startDate, elapsed: elapsed,
                          unsent: scheduled.map { max(0, $0 - schedule.issuedCount) } ?? 0, scheduled: scheduled,
                          notes: workload.notes)
    }

    /// One worker: take a ticket, wait for its time, send, record; until the schedule ends.
    static func drive<Worker: LoadWorker>(_ worker: inout Worker, schedule: LoadSchedule, recorder: LoadRecorder,
                                          lateThreshold: Duration, timeline: LoadTimeline?,
                                          loop: any EventLoop) async {
        while !Task.isCancelled, let ticket = schedule.next() {
            let origin: ContinuousClock.Instant
            var late = false
            switch ticket {
            case .now:
                origin = .now
            case .at(let due):
                if due > .now { await sleep(until: due, on: loop) }
                origin = due
                late = ContinuousClock.now - due > lateThreshold
            }
            let sent = Date()
            // With a timeline, the gateway's Server-Timing of the step's last reply goes with it.
            let metadata = timeline == nil ? nil : RPCReplyMetadata()
            let step = if let metadata {
                await RPCReplyMetadata.$current.withValue(metadata) { await worker.step() }
            } else {
                await worker.step()
            }
            recorder.record(step, latency: ContinuousClock.now - origin, late: late,
                            offset: schedule.start.map { origin - $0 })
            timeline?.record(step, sent: sent, finished: Date(), serverTiming: metadata?.serverTiming)
        }
        await worker.finish()
    }

    /// Waits until `due` with one of the worker's event loop's timers (no other thread wakes).
    private static func sleep(until due: ContinuousClock.Instant, on loop: any EventLoop) async {
        let wait = (due - .now).inMicroseconds
        guard wait > 0 else { return }
        try? await loop.scheduleTask(in: .microseconds(wait)) {}.futureResult.get()
    }

    private static func tick(recorder: LoadRecorder, schedule: LoadSchedule,
                             report: @Sendable (Progress) -> Void) async {
        var previous = 0
        var previousTime = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard !Task.isCancelled else { return }
            let now = ContinuousClock.now
            let start = schedule.start ?? now
            let counts = recorder.counts
            let rate = Double(counts.total - previous) / max((now - previousTime).inSeconds, 1e-9)
            report(Progress(elapsed: now - start, count: counts.total, errors: counts.errors,
                            expected: counts.expected, rate: rate))
            previous = counts.total
            previousTime = now
        }
    }
}
