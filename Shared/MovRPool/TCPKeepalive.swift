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

    public init(idleSeconds: Int = 2, intervalSeconds: Int = 1, count: Int = 3) {
        self.idleSeconds = idleSeconds
        self.intervalSeconds = intervalSeconds
        self.count = count
    }
}
