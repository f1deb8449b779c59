import Foundation
import MovRDevTools
import MovRLocality
import MovRPostgres
import MovRService
import MovRWAN

/// What `movr up --wan` / `--replicas` adds to the local stack: the proxies of the WAN links,
/// each region's view of the topology (other regions through its proxies), and the standbys.
struct LocalNetwork: Sendable {
    var links: [WANLink] = []
    var proxies: [WANProxy] = []
    /// Per region: the topology file its executables read (only with --wan).
    var topologyFiles: [String: String] = [:]
    /// Per region other than the database's: its hot standby (only with --replicas).
    var standbys: [String: LocalPostgresCluster] = [:]

    /// Gives every link its configured distance (the proxies start with none).
    func switchOnDelays(jitterMs: Int, loss: Double) {
        for (link, proxy) in zip(links, proxies) {
            proxy.setProfile(link.profile(jitterMs: jitterMs, loss: loss))
        }
    }

    /// `--fault-proxies`: polls `directory/reset` (10 times a second); when it appears, resets
    /// every open connection of the links it names — `services` (callers to users, vehicles,
    /// rides), `postgres` (services to the database) or `all` — removes it and writes
    /// `directory/reset.done` with what was reset (`postgres 7`).
    func serveResetRequests(directory: String) -> Task<Void, Never> {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pairs = zip(links, proxies).map { ($0.target, $1) }
        return Task.detached {
            let request = "\(directory)/reset"
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                guard let text = try? String(contentsOfFile: request, encoding: .utf8) else { continue }
                let scope = text.trimmingCharacters(in: .whitespacesAndNewlines)
                var reset = 0
                for (target, proxy) in pairs {
                    let isDatabase = target == "postgres"
                    if scope == "all" || (scope == "postgres" && isDatabase) || (scope == "services" && !isDatabase) {
                        reset += await proxy.resetConnections()
                    }
                }
                try? FileManager.default.removeItem(atPath: request)
                try? "\(scope) \(reset)\n".write(toFile: "\(directory)/reset.done", atomically: true, encoding: .utf8)
                Console.error("movr up: fault injection: reset \(reset) connections (\(scope))")
            }
        }
    }

    func stopProxies() async {
        for proxy in proxies { await proxy.stop() }
    }
}

extension LocalStack {
    /// Proxies from port base+110 (90 ports), standbys on the PostgreSQL port + 1 + region index.
    static let wanPortOffset = 110
    static let wanPortCount = 90

    /// Starts the WAN proxies (without delay yet) and the standbys (their WAL streams through
    /// the proxy of their region's link to the database).
    func startNetwork(cluster: LocalPostgresCluster, directory: String, regions: [String], primary: String,
                      locality: Locality, endpoints: [String: Topology.RegionEndpoints]) async throws -> LocalNetwork {
        var network = LocalNetwork()
        if options.wan || options.faultProxies {
            guard options.wanJitterMs >= 0, (0...1).contains(options.wanLoss) else {
                throw StackError("--wan-jitter-ms must be >= 0 and --wan-loss within 0...1")
            }
            network.links = try WANPlan.links(locality: locality, regions: regions, endpoints: endpoints,
                                              databaseRegion: primary, postgresPort: cluster.port,
                                              firstPort: options.portBase + Self.wanPortOffset,
                                              portCount: Self.wanPortCount, includeLocal: options.faultProxies)
            do {
                for link in network.links {
                    let proxy = WANProxy(upstreamHost: "127.0.0.1", upstreamPort: link.upstreamPort,
                                         profile: WANLinkProfile(oneWay: .zero))
                    try await proxy.start(port: link.listenPort)
                    network.proxies.append(proxy)
                }
            } catch {
                await network.stopProxies()
                throw StackError("cannot start the WAN proxies: \(error)")
            }
            try FileManager.default.createDirectory(atPath: "\(directory)/topology", withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            for region in regions {
                let path = "\(directory)/topology/\(region).json"
                let view = WANPlan.topology(for: region, endpoints: endpoints, links: network.links)
                try encoder.encode(view).write(to: URL(fileURLWithPath: path), options: .atomic)
                network.topologyFiles[region] = path
            }
        }
        if options.replicas {
            do {
                try await startStandbys(into: &network, cluster: cluster, directory: directory, regions: regions,
                                        primary: primary, locality: locality)
            } catch {
                for standby in network.standbys.values { try? await standby.stop() }
                await network.stopProxies()
                throw error
            }
        }
        return network
    }

    private func startStandbys(into network: inout LocalNetwork, cluster: LocalPostgresCluster, directory: String,
                               regions: [String], primary: String, locality: Locality) async throws {
        let admin = PostgresClient(configuration: PostgresConfiguration(url: cluster.superuserURL, poolSize: 1),
                                   logger: logger)
        do {
            try await startStandbys(into: &network, admin: admin, cluster: cluster, directory: directory,
                                    regions: regions, primary: primary, locality: locality)
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
    }

    private func startStandbys(into network: inout LocalNetwork, admin: PostgresClient, cluster: LocalPostgresCluster,
                               directory: String, regions: [String], primary: String, locality: Locality) async throws {
        for region in regions where region != primary {
            let index = locality.regions.firstIndex(where: { $0.name == region }) ?? 0
            let slot = Self.replicationSlot(for: region)
            let standby = LocalPostgresCluster(dataDirectory: "\(directory)/replicas/\(region)",
                                               port: cluster.port + 1 + index, passwordFile: cluster.passwordFile,
                                               settings: LocalStack.databaseSettings.merging(["hot_standby_feedback": "on"]) { $1 })
            // A standby left running by an earlier `movr up`, and its slot, are replaced.
            if standby.isInitialized, await standby.isRunning { try? await standby.stop() }
            _ = try await admin.query(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = \(slot)")
            let source = WANPlan.databasePort(for: region, links: network.links) ?? cluster.port
            Console.line("creating the hot standby of \(region) (pg_basebackup, slot \(slot))...")
            try await standby.createStandby(primaryPort: source, slot: slot)
            try await standby.start()
            network.standbys[region] = standby
        }
    }

    /// `movr_standby_europe_west1`.
    static func replicationSlot(for region: String) -> String {
        "movr_standby_" + String(region.map { $0.isLetter || $0.isNumber ? $0 : "_" }).lowercased()
    }

    func printNetwork(_ network: LocalNetwork) {
        if !network.links.isEmpty {
            let jitter = options.wanJitterMs > 0 ? ", jitter up to \(options.wanJitterMs) ms" : ""
            let loss = options.wanLoss > 0 ? ", loss \(options.wanLoss * 100) % (as TCP retransmissions)" : ""
            if options.faultProxies {
                Console.line("  fault proxies: \(network.links.count) links, resettable through \(options.directory)/faults/reset")
            }
            if options.wan { Console.line("  WAN simulator: \(network.links.count) delayed links (one-way = RTT/2\(jitter)\(loss)):") }
            for link in network.links {
                let estimate = link.estimate ? " (estimated RTT)" : ""
                Console.line("    \(link.from) -> \(link.to) \(link.target): RTT \(link.rttMs) ms\(estimate) via 127.0.0.1:\(link.listenPort)")
            }
        }
        for (region, standby) in network.standbys.sorted(by: { $0.key < $1.key }) {
            Console.line("  \(region): hot standby on 127.0.0.1:\(standby.port) (vehicles and promo code reads)")
        }
        if !options.homeRegionRouting {
            Console.line("  home-region routing is OFF: gateways call their own region's services for every city")
        }
    }
}

extension LocalStack {
    /// Ports a stack on `base` uses: services from base+3, PostgreSQL at base+100 and its
    /// standbys after it, WAN proxies from base+110.
    static let portSpan = 200

    /// `preferred`, or the next base (in steps of ``portSpan``) whose ports are all free on
    /// 127.0.0.1, so stacks started at once on one machine (tests, benchmarks) do not collide.
    /// Bases whose ports reach into the kernel's ephemeral range are skipped: any process's
    /// outgoing connection may take such a port between this check and the listener's bind
    /// (seen once as `EADDRINUSE` while a test suite made thousands of connections). Still a best
    /// effort: another listener may take a port in between.
    public static func freePortBase(preferred: Int, attempts: Int = 40) -> Int {
        let ephemeral = ephemeralPorts()
        var base = nextUsableBase(from: preferred, avoiding: ephemeral)
        for _ in 0..<attempts {
            if (base..<(base + portSpan)).allSatisfy(isFree) { return base }
            base = nextUsableBase(from: base + portSpan, avoiding: ephemeral)
        }
        return nextUsableBase(from: preferred, avoiding: ephemeral)
    }

    /// `base`, or the first base after it whose ports stay below 65 536 and out of `ephemeral`
    /// (wrapping to 10 000).
    static func nextUsableBase(from base: Int, avoiding ephemeral: ClosedRange<Int>) -> Int {
        var base = base
        for _ in 0..<2 {
            if base + portSpan > 65_536 { base = 10_000 }
            if ephemeral.overlaps(base...(base + portSpan - 1)) { base = ephemeral.upperBound + 1 } else { return base }
        }
        // The ephemeral range reaches the top: below it, or 10 000 if it leaves no room there.
        return max(10_000, min(base, ephemeral.lowerBound - portSpan))
    }

    /// The local ports the kernel gives outgoing connections (Linux's default when unreadable).
    static func ephemeralPorts() -> ClosedRange<Int> {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { return 32_768...60_999 }
        return bounds[0]...bounds[1]
    }

    /// Whether a listener could bind 127.0.0.1:`port` now (with SO_REUSEADDR, as servers do).
    static func isFree(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
