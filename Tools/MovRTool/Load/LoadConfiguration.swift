/// How a load run is driven (the workload decides what each request is).
public struct LoadConfiguration: Codable, Sendable {
    /// Seconds to send requests for.
    public var duration: Double
    /// Closed loop: workers. Open model: the most requests in flight at once.
    public var concurrency: Int
    /// Open model: total requests per second at fixed intended send times; nil = closed loop.
    public var rate: Double?
    /// Open model: a request sent later than this after its intended time counts as late.
    public var lateThresholdMs: Double = 10
    /// Requests slower than this are counted per tenth of a second of their intended send time
    /// (``LoadReport/slowByTenth``): where a run's tail lies, at its start or in episodes.
    /// nil: not counted.
    public var slowThresholdMs: Double?
    /// The operation mix (`--mix` syntax), recorded in the report.
    public var mix: String = LoadMix.standard.description
    /// Cities the run covers, recorded in the report.
    public var cities: [String] = []

    public init(duration: Double, concurrency: Int, rate: Double? = nil) {
        self.duration = duration
        self.concurrency = concurrency
        self.rate = rate
    }

    func validate() throws(LoadConfigurationError) {
        guard duration.isFinite, duration > 0 else { throw LoadConfigurationError("--duration must be positive") }
        guard concurrency >= 1 else { throw LoadConfigurationError("--concurrency must be at least 1") }
        if let rate, !(rate.isFinite && rate > 0) { throw LoadConfigurationError("--rate must be positive") }
    }
}

public struct LoadConfigurationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
