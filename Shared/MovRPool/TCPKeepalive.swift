/// The kernel's TCP keepalive for a pooled connection (`SO_KEEPALIVE`, then `TCP_KEEPIDLE`,
/// `TCP_KEEPINTVL`, `TCP_KEEPCNT` on Linux): a peer gone without a reset (a host or region
/// killed with its network, a partition) is found after `idleSeconds` of silence and `count`
/// unanswered probes `intervalSeconds` apart, about 5 s with the defaults. A live peer's kernel
/// answers the probes however long its handler or statement takes. Both the RPC client's and
/// the database client's connections use it (docs/operations.md, "Failure handling").
public struct TCPKeepalive: Sendable, Equatable {
    public var idleSeconds: Int
    public var intervalSeconds: Int
    public var count: Int

    /// `TCP_USER_TIMEOUT` (libpq's `tcp_user_timeout`): how long data sent may stay
    /// unacknowledged before the kernel ends the connection. Keepalive sends no probes while
    /// data is in flight, so without it a request written to a peer that is already gone
    /// waits out TCP's retransmissions (about 15 minutes); with it, the same bound as an idle
    /// connection's probes: idle + count x interval.
    public var userTimeoutMilliseconds: Int { (idleSeconds + count * intervalSeconds) * 1_000 }

    public init(idleSeconds: Int = 2, intervalSeconds: Int = 1, count: Int = 3) {
        self.idleSeconds = idleSeconds
        self.intervalSeconds = intervalSeconds
        self.count = count
    }
}
