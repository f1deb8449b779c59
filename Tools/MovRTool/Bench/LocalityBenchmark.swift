import Foundation
import Logging
import MovRAPI
import MovRLocality
import MovRRPC

/// `movr bench locality`: what distance costs and what locality saves. With the WAN simulator
/// on, a client at each region's gateway calls `vehicles.list`, a ride cycle (`rides.start` +
/// `rides.end`) and `users.me` for a city of that region and a city of another region, under
/// four stacks: home-region routing on/off x standbys on/off. Sequential calls (one client), so
/// the figures are latencies, not throughput.
public struct LocalityBenchmark: Sendable {
    public struct Options: Sendable {
        public var samples = 20
        public var quick = false
        public var markdownPath: String? = "docs/benchmarks.md"
        public var portBase = 18440
        public var command = "movr bench locality"
        public init() {}
    }

    struct Setup: Sendable {
        var routing: Bool
        var replicas: Bool
        var label: String { "routing \(routing ? "on" : "off"), \(replicas ? "standbys" : "no standbys")" }
        var arguments: [String] {
            ["--wan", "--no-demo-data"] + (replicas ? ["--replicas"] : []) + (routing ? [] : ["--no-home-routing"])
        }
    }

    /// One row of the table: a client at `gateway` asking about `city` (homed in `home`).
    struct Row: Hashable, Sendable {
        var gateway: String
        var city: String
        var home: String
        var operation: String
    }

    struct Figures: Sendable {
        var p50: Double
        var p99: Double
        var count: Int
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        var options = options
        if options.quick { options.samples = min(options.samples, 3) }
        self.options = options
        self.logger = logger
    }

    static let setups = [Setup(routing: true, replicas: false), Setup(routing: true, replicas: true),
                         Setup(routing: false, replicas: false), Setup(routing: false, replicas: true)]

    /// Each region's first city, and the first city of the next region in the map (cyclic).
    static func cities(_ locality: Locality) -> [(gateway: String, local: City, remote: City)] {
        let regions = locality.regions.map(\.name)
        return regions.enumerated().compactMap { index, region in
            let other = regions[(index + 1) % regions.count]
            guard let local = locality.cities.first(where: { $0.region == region }),
                  let remote = locality.cities.first(where: { $0.region == other }) else { return nil }
            return (region, local, remote)
        }
    }

    @discardableResult
    public func run() async throws -> String {
        let locality = try Locality.loadDefault()
        let work = FileManager.default.currentDirectoryPath + "/.movr/bench-locality-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var table: [String: [Row: Figures]] = [:]
        for (index, setup) in Self.setups.enumerated() {
            let (stack, stackPath) = try await BenchStack.start(directory: "\(work)/stack\(index)", portBase: options.portBase,
                                                              arguments: setup.arguments)
            do {
                table[setup.label] = try await measure(stack: try StackFile.load(stackPath), locality: locality)
            } catch {
                await BenchStack.stop(stack)
                throw error
            }
            await BenchStack.stop(stack)
        }
        let markdown = report(table, locality: locality, commit: await BenchMachine.commit())
        Console.line(markdown)
        if let path = options.markdownPath {
            try BenchStack.appendSection(markdown, to: path)
        }
        try? FileManager.default.removeItem(atPath: work)
        return markdown
    }

    private func measure(stack: StackFile, locality: Locality) async throws -> [Row: Figures] {
        var figures: [Row: Figures] = [:]
        for (gateway, local, remote) in Self.cities(locality) {
            let client = try stack.gatewayClient(region: gateway, logger: logger)
            do {
                for city in [local, remote] {
                    for (operation, samples) in try await measureCity(client, city: city) {
                        figures[Row(gateway: gateway, city: city.name, home: city.region, operation: operation)] =
                            Self.figures(samples)
                    }
                }
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
        return figures
    }

    /// Milliseconds per call of each operation for `city`, through one gateway.
    private func measureCity(_ api: PublicClient, city: City) async throws -> [(String, [Double])] {
        let slug = DemoData.slug(city.name)
        let password = "locality-bench-\(UUID().uuidString.prefix(8))"
        func signIn(_ role: String) async throws -> String {
            // At most 32 characters: "bl_o_newyork_1a2b3c4d".
            let username = "bl_\(role.prefix(1))_\(slug.prefix(10))_\(UUID().uuidString.prefix(8).lowercased())"
            _ = try await api.call("users.register",
                                   UsersRegisterParams(username: username, password: password, email: "\(username)@example.com",
                                                       firstName: "Bench", lastName: role, city: city.name),
                                   as: UserResult.self)
            return try await api.call("auth.login", AuthLoginParams(username: username, password: password),
                                      as: AuthLoginResult.self).token
        }
        let owner = try await signIn("owner")
        let rider = try await signIn("rider")
        let center = Location(latitude: city.latitude, longitude: city.longitude)
        let vehicle = try await api.call("vehicles.add",
                                         VehiclesAddParams(type: .scooter, city: city.name, location: center, color: "grey",
                                                           brand: "Bench", battery: 100),
                                         as: VehicleResult.self, token: owner).vehicle

        func timed(_ body: () async throws -> Void) async throws -> Double {
            let started = ContinuousClock.now
            try await body()
            let (seconds, attoseconds) = (ContinuousClock.now - started).components
            return Double(seconds) * 1000 + Double(attoseconds) / 1e15
        }
        let list = { _ = try await api.call("vehicles.list", VehiclesListParams(city: city.name, limit: 10),
                                            as: VehiclesListResult.self) }
        let cycle = {
            let ride = try await api.call("rides.start", RidesStartParams(vehicleID: vehicle.id), as: RideResult.self,
                                          token: rider, city: city.name).ride
            _ = try await api.call("rides.end", RidesEndParams(rideID: ride.id, location: center), as: RideResult.self,
                                   token: rider)
        }
        let me = { _ = try await api.call("users.me", EmptyObject(), as: UserResult.self, token: rider) }
        var results: [(String, [Double])] = []
        for (name, operation) in [("vehicles.list", list), ("rides.start+end", cycle), ("users.me", me)] {
            // Two unmeasured calls: pooled connections (and their simulated handshakes) exist.
            try await operation()
            try await operation()
            var samples: [Double] = []
            for _ in 0..<options.samples { samples.append(try await timed(operation)) }
            results.append((name, samples))
        }
        return results
    }

    static func figures(_ samples: [Double]) -> Figures {
        let sorted = samples.sorted()
        guard !sorted.isEmpty else { return Figures(p50: 0, p99: 0, count: 0) }
        func quantile(_ q: Double) -> Double {
            sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
        }
        return Figures(p50: quantile(0.5), p99: quantile(0.99), count: sorted.count)
    }

    func report(_ table: [String: [Row: Figures]], locality: Locality, commit: String) -> String {
        let labels = Self.setups.map(\.label)
        var lines = [
            "## Locality: latency by client region, city and deployment (\(RFC3339.string(from: Date()).prefix(10)))",
            "",
            "Command: `\(options.command)`; commit \(commit); \(BenchMachine.describe()).",
            "WAN simulator on (one-way = RTT/2 of `config/locality.json`; us-east1 holds the PostgreSQL primary);",
            "each cell is p50 / p99 in ms of \(options.samples) sequential calls by one client (p99 of so few calls is",
            "about their maximum). \"routing off\" = every gateway calls its own region's services for every city.",
            "",
            "| gateway | city (home) | operation | " + labels.joined(separator: " | ") + " |",
            "|---|---|---|" + String(repeating: "---|", count: labels.count),
        ]
        for (gateway, local, remote) in Self.cities(locality) {
            for city in [local, remote] {
                for operation in ["vehicles.list", "rides.start+end", "users.me"] {
                    let row = Row(gateway: gateway, city: city.name, home: city.region, operation: operation)
                    let cells = labels.map { label -> String in
                        guard let figures = table[label]?[row] else { return "-" }
                        return String(format: "%.1f / %.1f", figures.p50, figures.p99)
                    }
                    lines.append("| \(gateway) | \(city.name) (\(city.region)) | \(operation) | " + cells.joined(separator: " | ") + " |")
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}
