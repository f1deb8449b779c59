import Foundation
import MovRAPI
import MovRInternalAPI
import MovRTestSupport
import MovRTool
import Testing

/// `MOVR_WARM_CONNECTIONS`: at start, before any call needs them, an executable opens that many
/// connections to each peer it calls and to its database (docs/operations.md, "Configuration").
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil,
                "starts its own executables next to a local stack"))
struct WarmUpTests {
    /// Established TCP connections of process `pid` to 127.0.0.1, by remote port: its socket
    /// inodes (/proc/PID/fd) matched with the connection table of its network namespace, each
    /// socket counted once (``LoopbackSockets/entries(in:)``).
    static func connectionsByRemotePort(of pid: Int32) -> [Int: Int] {
        let links = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let inodes = Set(links.compactMap { link -> Int? in
            // readlink(2): the target, "socket:[INODE]", names no file.
            var buffer = [CChar](repeating: 0, count: 64)
            let count = readlink("/proc/\(pid)/fd/\(link)", &buffer, buffer.count - 1)
            guard count > 0 else { return nil }
            let target = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard target.hasPrefix("socket:[") else { return nil }
            return Int(target.dropFirst("socket:[".count).dropLast())
        })
        var ports: [Int: Int] = [:]
        for entry in LoopbackSockets.established(tables: ["/proc/\(pid)/net/tcp", "/proc/\(pid)/net/tcp6"])
        where inodes.contains(entry.inode) {
            ports[entry.remotePort, default: 0] += 1
        }
        return ports
    }

    static func port(of url: String) throws -> Int {
        try #require(URLComponents(string: url)?.port)
    }

    /// Waits until `pid`'s connections to each port reach the expected count (or 20 s pass),
    /// and returns what it saw last.
    static func awaitConnections(of pid: Int32, expected: [Int: Int]) async throws -> [Int: Int] {
        let deadline = ContinuousClock.now + .seconds(20)
        var seen = connectionsByRemotePort(of: pid)
        while expected.contains(where: { seen[$0.key] ?? 0 < $0.value }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            seen = connectionsByRemotePort(of: pid)
        }
        return seen
    }

    /// The rides service calls the vehicles service of its region and owns a database: three
    /// connections to each, open with no call made. (At least three to the vehicles service:
    /// warming opens until three are idle, and the reconciler's first pass, at start too, may
    /// hold some meanwhile.)
    @Test func aServiceOpensConnectionsToItsPeerAndItsDatabaseAtStart() async throws {
        let rides = try await SpawnedExecutable.start(.rides, logName: "warm-up", extra: ["MOVR_WARM_CONNECTIONS": "3"])
        let stack = try await LocalStackHarness.shared.start()
        let vehicles = try Self.port(of: stack.topology.url(of: .vehicles, in: stack.primaryRegion))
        let database = try Self.port(of: stack.databaseURL)
        let pid = rides.process.processIdentifier
        let seen = try await Self.awaitConnections(of: pid, expected: [vehicles: 3, database: 3])
        #expect(seen[vehicles] ?? 0 >= 3, "to the vehicles service: \(seen)")
        #expect(seen[database] ?? 0 >= 3, "to PostgreSQL: \(seen)")
        _ = await rides.process.terminate(grace: .seconds(30))
    }

    /// The gateway may call any service of any region: one connection to each, with none to a
    /// database; with 0, none at all.
    @Test func theGatewayOpensAConnectionToEveryServiceOfEveryRegion() async throws {
        let stack = try await LocalStackHarness.shared.start()
        var peers: [Int] = []
        for region in stack.topology.regions.keys {
            for service in [ServiceIdentity.users, .vehicles, .rides] {
                peers.append(try Self.port(of: stack.topology.url(of: service, in: region)))
            }
        }
        let gateway = try await SpawnedExecutable.start(.gateway, logName: "warm-up", extra: ["MOVR_WARM_CONNECTIONS": "1"])
        let seen = try await Self.awaitConnections(of: gateway.process.processIdentifier,
                                                   expected: Dictionary(uniqueKeysWithValues: peers.map { ($0, 1) }))
        for port in peers { #expect(seen[port] == 1, "to port \(port): \(seen)") }
        #expect(seen[try Self.port(of: stack.databaseURL)] == nil)
        _ = await gateway.process.terminate(grace: .seconds(30))

        let cold = try await SpawnedExecutable.start(.gateway, logName: "warm-up-none", extra: ["MOVR_WARM_CONNECTIONS": "0"])
        try await Task.sleep(for: .seconds(2))
        let none = Self.connectionsByRemotePort(of: cold.process.processIdentifier)
        #expect(peers.allSatisfy { none[$0] == nil }, "\(none)")
        _ = await cold.process.terminate(grace: .seconds(30))
    }
}
