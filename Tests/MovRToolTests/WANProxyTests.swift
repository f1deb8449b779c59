import Foundation
import MovRLocality
import MovRService
@testable import MovRTool
import MovRWAN
import NIOCore
import NIOPosix
import Testing

/// The WAN simulator delays real TCP traffic on loopback. Only lower bounds are asserted: a
/// busy machine may add time, never remove it.
@Suite struct WANProxyTests {
    /// Echoes every byte back (the "remote region").
    final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }

    static func startEcho() async throws -> (any Channel, Int) {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.pipeline.addHandler(Echo()) }
            .bind(host: "127.0.0.1", port: 0).get()
        return (channel, channel.localAddress?.port ?? 0)
    }

    /// Sends `message` over a plain socket and waits for it to come back; returns the time.
    static func roundTrip(socket: Int32, message: [UInt8]) throws -> Duration {
        let started = ContinuousClock.now
        let sent = message.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
        guard sent == message.count else { throw WANProxyError("send failed") }
        var received = 0
        var buffer = [UInt8](repeating: 0, count: message.count)
        while received < message.count {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress! + received, message.count - received, 0) }
            guard count > 0 else { throw WANProxyError("connection closed after \(received) bytes") }
            received += count
        }
        #expect(buffer == message)
        return ContinuousClock.now - started
    }

    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { close(fd); throw WANProxyError("connect failed") }
        return fd
    }

    @Test func aRoundTripTakesAtLeastTheConfiguredRTT() async throws {
        let (echo, echoPort) = try await Self.startEcho()
        let proxy = WANProxy(upstreamHost: "127.0.0.1", upstreamPort: echoPort,
                             profile: WANLinkProfile(oneWay: .milliseconds(40)))
        let port = try await proxy.start(port: 0)
        // The first exchange also pays the simulated TCP handshake (one more RTT), which starts
        // when the proxy accepts: timed from before connecting, so a pause of this thread
        // between connecting and sending cannot shorten it.
        let connecting = ContinuousClock.now
        let fd = try Self.connect(port: port)
        defer { close(fd) }
        _ = try Self.roundTrip(socket: fd, message: Array("hello".utf8))
        let first = ContinuousClock.now - connecting
        #expect(first >= .milliseconds(160))
        for size in [1, 1_000, 200_000] {
            let message = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
            let elapsed = try Self.roundTrip(socket: fd, message: message)
            #expect(elapsed >= .milliseconds(80), "round trip of \(size) bytes took \(elapsed)")
        }
        await proxy.stop()
        try await echo.close()
    }

    @Test func lossIsARetransmissionDelayAndJitterOnlyAdds() async throws {
        let (echo, echoPort) = try await Self.startEcho()
        let proxy = WANProxy(upstreamHost: "127.0.0.1", upstreamPort: echoPort,
                             profile: WANLinkProfile(oneWay: .milliseconds(5)))
        let port = try await proxy.start(port: 0)
        let fd = try Self.connect(port: port)
        defer { close(fd) }
        _ = try Self.roundTrip(socket: fd, message: [1])
        // Every chunk lost once: each direction waits max(200 ms, RTT) more.
        proxy.setProfile(WANLinkProfile(oneWay: .milliseconds(5), jitter: .milliseconds(20), loss: 1))
        #expect(proxy.profile.retransmitTimeout == .milliseconds(200))
        let lossy = try Self.roundTrip(socket: fd, message: [2, 3])
        #expect(lossy >= .milliseconds(410))
        await proxy.stop()
        try await echo.close()
    }

    @Test func aDelayChangeAppliesToOpenConnections() async throws {
        let (echo, echoPort) = try await Self.startEcho()
        let proxy = WANProxy(upstreamHost: "127.0.0.1", upstreamPort: echoPort, profile: WANLinkProfile(oneWay: .zero))
        let port = try await proxy.start(port: 0)
        let fd = try Self.connect(port: port)
        defer { close(fd) }
        _ = try Self.roundTrip(socket: fd, message: [1])
        proxy.setProfile(WANLinkProfile(oneWay: .milliseconds(73)))
        #expect(try Self.roundTrip(socket: fd, message: [2]) >= .milliseconds(146))
        await proxy.stop()
        try await echo.close()
    }

    @Test func anUnreachableUpstreamClosesTheClientConnection() async throws {
        let unused = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let deadPort = unused.localAddress?.port ?? 1
        try await unused.close()
        let proxy = WANProxy(upstreamHost: "127.0.0.1", upstreamPort: deadPort, profile: WANLinkProfile(oneWay: .zero))
        let port = try await proxy.start(port: 0)
        let fd = try Self.connect(port: port)
        defer { close(fd) }
        #expect(throws: WANProxyError.self) { try Self.roundTrip(socket: fd, message: [1]) }
        await proxy.stop()
    }

    /// Every pair of regions gets links both ways with half the configured RTT each way, and
    /// each region's topology sends only other regions through its own proxies.
    @Test func thePlanUsesTheLocalityRTTs() throws {
        let locality = try DeploymentFilesTests.locality
        let regions = locality.regions.map(\.name)
        var endpoints: [String: Topology.RegionEndpoints] = [:]
        for (index, region) in regions.enumerated() {
            func url(_ offset: Int) -> String { "https://127.0.0.1:\(9000 + 10 * index + offset)" }
            endpoints[region] = Topology.RegionEndpoints(gateway: url(3), users: url(4), vehicles: url(5), rides: url(6))
        }
        let links = try WANPlan.links(locality: locality, regions: regions, endpoints: endpoints,
                                      databaseRegion: "us-east1", postgresPort: 9100, firstPort: 9110, portCount: 90)
        // 4 regions: 4*3 ordered pairs * 3 services + 3 links to the database.
        #expect(links.count == 39)
        #expect(Set(links.map(\.listenPort)).count == links.count)
        let eastWest = try #require(links.first { $0.from == "us-east1" && $0.to == "us-west1" && $0.target == "vehicles" })
        #expect(eastWest.rttMs == 66)
        #expect(eastWest.profile(jitterMs: 0, loss: 0).oneWay == .milliseconds(33))
        let westEurope = try #require(links.first { $0.from == "europe-west1" && $0.to == "us-west1" })
        #expect(westEurope.profile(jitterMs: 0, loss: 0).roundTrip == .milliseconds(146))
        #expect(WANPlan.databasePort(for: "us-east1", links: links) == nil)
        let database = try #require(links.first { $0.from == "europe-west1" && $0.target == "postgres" })
        #expect(database.rttMs == 64 && database.upstreamPort == 9100)

        let view = WANPlan.topology(for: "europe-west1", endpoints: endpoints, links: links)
        #expect(view.regions["europe-west1"]?.vehicles == endpoints["europe-west1"]?.vehicles)
        let viaProxy = try #require(links.first { $0.from == "europe-west1" && $0.to == "us-east1" && $0.target == "rides" })
        #expect(view.regions["us-east1"]?.rides == "https://127.0.0.1:\(viaProxy.listenPort)")
        #expect(view.regions["us-east1"]?.gateway == endpoints["us-east1"]?.gateway)

        #expect(throws: StackError.self) {
            try WANPlan.links(locality: locality, regions: regions, endpoints: endpoints,
                              databaseRegion: "us-east1", postgresPort: 9100, firstPort: 9110, portCount: 10)
        }
    }

    /// Fault injection: every connection open through the proxy is aborted with a reset (the
    /// client's next read fails with ECONNRESET, not a clean end), and the proxy relays new
    /// connections as before.
    @Test func resetConnectionsAbortsOpenConnectionsOnly() async throws {
        let (echo, echoPort) = try await Self.startEcho()
        let proxy = WANProxy(upstreamHost: "127.0.0.1", upstreamPort: echoPort, profile: WANLinkProfile(oneWay: .zero))
        let port = try await proxy.start(port: 0)
        let first = try Self.connect(port: port), second = try Self.connect(port: port)
        defer { close(first); close(second) }
        _ = try Self.roundTrip(socket: first, message: Array("one".utf8))
        _ = try Self.roundTrip(socket: second, message: Array("two".utf8))
        #expect(proxy.openConnections == 2)
        #expect(await proxy.resetConnections() == 2)
        for fd in [first, second] {
            var byte: UInt8 = 0
            let count = recv(fd, &byte, 1, 0)
            #expect(count == -1 && errno == ECONNRESET, "read after the reset gave \(count), errno \(errno)")
        }
        let third = try Self.connect(port: port)
        defer { close(third) }
        _ = try Self.roundTrip(socket: third, message: Array("three".utf8))
        #expect(proxy.openConnections == 1)
        await proxy.stop()
        try await echo.close()
    }

    /// `movr up --fault-proxies`: links inside each region too (and to the database from its
    /// own region), without delay, so every internal connection passes a resettable proxy.
    @Test func faultProxiesCoverLinksInsideARegion() throws {
        let locality = try DeploymentFilesTests.locality
        let endpoints = ["us-east1": Topology.RegionEndpoints(gateway: "https://127.0.0.1:9003", users: "https://127.0.0.1:9004",
                                                              vehicles: "https://127.0.0.1:9005", rides: "https://127.0.0.1:9006")]
        let links = try WANPlan.links(locality: locality, regions: ["us-east1"], endpoints: endpoints, databaseRegion: "us-east1",
                                      postgresPort: 9100, firstPort: 9110, portCount: 90, includeLocal: true)
        #expect(links.map(\.target) == ["users", "vehicles", "rides", "postgres"])
        #expect(links.allSatisfy { $0.rttMs == 0 && $0.from == "us-east1" && $0.to == "us-east1" })
        let view = WANPlan.topology(for: "us-east1", endpoints: endpoints, links: links)
        #expect(view.regions["us-east1"]?.rides == "https://127.0.0.1:9112")
        #expect(view.regions["us-east1"]?.gateway == "https://127.0.0.1:9003")
        #expect(WANPlan.databasePort(for: "us-east1", links: links) == 9113)
    }
}
