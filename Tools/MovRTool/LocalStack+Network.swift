import Foundation
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
        if options.wan {
            guard options.wanJitterMs >= 0, (0...1).contains(options.wanLoss) else {
                throw StackError("--wan-jitter-ms must be >= 0 and --wan-loss within 0...1")
            }
            network.links = try WANPlan.links(locality: locality, regions: regions, endpoints: endpoints,
                                              databaseRegion: primary, postgresPort: cluster.port,
                                              firstPort: options.portBase + Self.wanPortOffset,
                                              portCount: Self.wanPortCount)
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
                for standby in network.standbys.values { try? standby.stop() }
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
                                               settings: ["hot_standby_feedback": "on"])
            // A standby left running by an earlier `movr up`, and its slot, are replaced.
            if standby.isInitialized, standby.isRunning { try? standby.stop() }
            _ = try await admin.query(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = \(slot)")
            let source = WANPlan.databasePort(for: region, links: network.links) ?? cluster.port
            Console.line("creating the hot standby of \(region) (pg_basebackup, slot \(slot))...")
            try standby.createStandby(primaryPort: source, slot: slot)
            try standby.start()
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
            Console.line("  WAN simulator: \(network.links.count) delayed links (one-way = RTT/2\(jitter)\(loss)):")
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
