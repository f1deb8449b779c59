/// What a load run sends: the engine (``LoadGenerator``) decides when, a workload decides what.
/// Each worker belongs to one task, so its state needs no locking.
public protocol LoadWorkload: Sendable {
    associatedtype Worker: LoadWorker
    /// Worker `index` of `count`, made inside the task that runs it.
    func makeWorker(index: Int, of count: Int) -> Worker
    /// Things the operator should know about the run (e.g. an operation left out of the mix).
    var notes: [String] { get }
    /// Before the clock starts: open the connections `concurrency` workers will use, so the
    /// first requests of the run do not pay for TLS handshakes (pgbench and wrk connect first too).
    func prepare(concurrency: Int) async
}

public protocol LoadWorker {
    /// Sends exactly one request and reports what it was and how it ended; never throws, so a
    /// failing request can neither crash nor stop the run.
    mutating func step() async -> LoadStep
    /// After the last step: tidy up (e.g. end rides still active), not measured.
    mutating func finish() async
}

extension LoadWorkload {
    public var notes: [String] { [] }
    public func prepare(concurrency: Int) async {}
}

extension LoadWorker {
    public mutating func finish() async {}
}
