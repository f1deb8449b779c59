import Foundation
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRService
import MovRTestSupport
import MovRTool
import Testing

/// The expected shape of multi-region latency, with the WAN simulator on (`movr up --wan
/// --replicas`, us-east1 holding the database primary, europe-west1 a hot standby; RTT 64 ms).
/// Timing is asserted only as lower bounds; "no inter-region trip" is shown structurally: the
/// gateway's `Server-Timing` names every hop and whether it left the region, and the services'
/// metrics count which database answered.
@Suite(.serialized) struct WANShapeTests {
    static let rttMs = 64.0

    struct WANStack {
        let stack: StackFile
        let path: String
        func gateway(_ region: String) throws -> PublicClient {
            try stack.gatewayClient(region: region, logger: Domain.logger)
        }
        /// What `movr up` logged of one executable, e.g. `europe-west1-vehicles`.
        func log(_ name: String) -> String {
            let path = URL(fileURLWithPath: self.path).deletingLastPathComponent().path + "/logs/\(name).log"
            return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        }
    }

    static func start() async throws -> WANStack {
        let stack = try await LocalStackHarness.wan.start()
        return WANStack(stack: stack, path: await LocalStackHarness.wan.stackPath)
    }

    /// A counter or gauge from a service's `/metrics` (operator certificate, curl as the client).
    static func metric(_ stack: StackFile, _ service: ServiceIdentity, region: String, _ series: String) async throws -> Double {
        let url = try stack.topology.url(of: service, in: region)
        let port = try #require(URLComponents(string: url)?.port)
        let host = service.serverName
        let output = try await TestProcess.run("/usr/bin/curl", [
            "-s", "--max-time", "10", "--cacert", stack.ca, "--cert", stack.clientCertificate, "--key", stack.clientKey,
            "--resolve", "\(host):\(port):127.0.0.1", "https://\(host):\(port)/metrics",
        ])
        for line in output.text.split(separator: "\n") where line.hasPrefix(series + " ") {
            if let value = Double(line.dropFirst(series.count + 1)) { return value }
        }
        return 0
    }

    static let replicaReads = #"movr_regional_reads_total{source="replica"}"#
    static let fencedReads = #"movr_regional_reads_total{source="primary",reason="read_your_writes"}"#

    /// A user homed in `city`, signed in through `gateway`.
    static func newUser(_ gateway: PublicClient, city: String) async throws -> SignedInUser {
        let username = Domain.uniqueName("wan")
        let password = "correct horse \(UUID().uuidString.prefix(6))"
        _ = try await gateway.call("users.register",
                                   UsersRegisterParams(username: username, password: password, email: "\(username)@example.com",
                                                       firstName: "Wan", lastName: "User", city: city),
                                   as: UserResult.self)
        let login = try await gateway.call("auth.login", AuthLoginParams(username: username, password: password),
                                           as: AuthLoginResult.self)
        return SignedInUser(user: login.user, token: login.token, password: password)
    }

    /// Waits until europe-west1's vehicles service has measured its standby within the lag bound
    /// (`movr up`'s default, 2 s): until then it sends every read to the primary, by design. A
    /// loaded machine can start the stack slowly, so this is the test's precondition, not its
    /// claim; if it never holds, the failure says what the service logged about its standby.
    static func waitForAFreshStandby(_ wan: WANStack, within seconds: Int = 30) async throws {
        var lag = Double.infinity
        for _ in 0..<(seconds * 4) {
            lag = try await metric(wan.stack, .vehicles, region: "europe-west1", "movr_replica_lag_seconds")
            if lag > 0, lag <= 2 { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        let lines = wan.log("europe-west1-vehicles").split(separator: "\n")
            .filter { $0.contains("standby") || $0.contains("replica") }.suffix(10)
        let logged = lines.joined(separator: " | ")
        Issue.record("europe-west1's standby was not within the lag bound after \(seconds) s (movr_replica_lag_seconds \(lag)); its log: \(logged)")
    }

    @Test func aLocalCityReadWithALocalStandbyStaysInTheRegion() async throws {
        let wan = try await Self.start()
        try await Self.waitForAFreshStandby(wan)
        let europe = try wan.gateway("europe-west1")
        // Warm the pools so connection set-up is not what is measured.
        for _ in 0..<3 {
            _ = try await europe.call("vehicles.list", VehiclesListParams(city: "amsterdam", limit: 5), as: VehiclesListResult.self)
        }
        let before = try await Self.metric(wan.stack, .vehicles, region: "europe-west1", Self.replicaReads)
        let started = ContinuousClock.now
        let reply = try await europe.callReportingHeaders("vehicles.list", VehiclesListParams(city: "amsterdam", limit: 5),
                                                          as: VehiclesListResult.self)
        let elapsed = ContinuousClock.now - started
        // One hop, inside europe-west1, answered by the standby there: nothing crossed the WAN.
        #expect(reply.serverTiming.count == 1)
        #expect(reply.serverTiming.allSatisfy { !$0.isRemote && $0.description.hasPrefix("europe-west1 ") },
                "\(reply.serverTiming)")
        let after = try await Self.metric(wan.stack, .vehicles, region: "europe-west1", Self.replicaReads)
        #expect(after >= before + 1, "the europe-west1 standby did not answer (replica reads \(before) -> \(after))")
        print("local-city read via europe-west1 with its standby: \(elapsed), \(reply.serverTiming) (RTT to the primary: \(Self.rttMs) ms)")

        let promos = try await europe.callReportingHeaders("promo_codes.list", EmptyObject(), as: PromoCodesListResult.self)
        #expect(promos.serverTiming.allSatisfy { !$0.isRemote }, "\(promos.serverTiming)")
        await europe.shutdown()
    }

    @Test func aRemoteCityOperationCostsOneRoundTripNotOnePerStatement() async throws {
        let wan = try await Self.start()
        let europe = try wan.gateway("europe-west1")
        let owner = try await Self.newUser(europe, city: "new york")
        // A write for a city homed in us-east1 (where the primary is), from europe-west1's gateway.
        let added = try await europe.callReportingHeaders(
            "vehicles.add",
            VehiclesAddParams(type: .scooter, city: "new york", location: Location(latitude: 40.75, longitude: -73.99),
                              color: "red", brand: "Wan", battery: 90),
            as: VehicleResult.self, token: owner.token)
        let remote = added.result.vehicle
        #expect(remote.region == "us-east1")
        // Exactly one hop leaves the region, to the city's home, whose services reach the
        // database locally: one inter-region round trip, however many statements run there.
        let remoteHops = added.serverTiming.filter(\.isRemote)
        #expect(remoteHops.count == 1, "\(added.serverTiming)")
        #expect(remoteHops.first?.description == "us-east1 vehicles.add")
        #expect((remoteHops.first?.milliseconds ?? 0) >= Self.rttMs, "a remote hop cannot beat the RTT: \(remoteHops)")

        let listed = try await europe.callReportingHeaders("vehicles.list", VehiclesListParams(city: "new york", limit: 5),
                                                           as: VehiclesListResult.self)
        let listHops = listed.serverTiming
        #expect(listHops.count == 1 && listHops[0].isRemote && listHops[0].description.hasPrefix("us-east1 "), "\(listHops)")
        #expect(listHops[0].milliseconds >= Self.rttMs)

        // A ride of that vehicle from europe-west1's gateway: one remote hop (rides.start in
        // us-east1, which reserves the vehicle there).
        let ride = try await europe.callReportingHeaders(
            "rides.start", RidesStartParams(vehicleID: remote.id), as: RideResult.self, token: owner.token, city: "new york")
        #expect(ride.serverTiming.filter(\.isRemote).count == 1, "\(ride.serverTiming)")
        #expect(ride.result.ride.region == "us-east1")
        // Ending it from where the rider is goes to the ride's home too: one remote hop.
        let ended = try await europe.callReportingHeaders(
            "rides.end", RidesEndParams(rideID: ride.result.ride.id, location: Location(latitude: 40.76, longitude: -73.98)),
            as: RideResult.self, token: owner.token, city: "new york")
        #expect(ended.serverTiming.filter(\.isRemote).map(\.description) == ["us-east1 rides.end"], "\(ended.serverTiming)")
        #expect(ended.result.ride.endTime != nil)
        await europe.shutdown()
    }

    @Test func theWriterNeverReadsOlderThanItsWrite() async throws {
        let wan = try await Self.start()
        let europe = try wan.gateway("europe-west1")
        let owner = try await Self.newUser(europe, city: "amsterdam")
        for round in 0..<5 {
            let added = try await europe.callReportingHeaders(
                "vehicles.add",
                VehiclesAddParams(type: .bike, city: "amsterdam", location: Location(latitude: 52.37, longitude: 4.90),
                                  color: "blue", brand: "Wan\(round)", battery: 80),
                as: VehicleResult.self, token: owner.token)
            let lsn = try #require(added.lsn, "a write's reply carries X-MovR-LSN with --replicas")
            #expect(WALPosition(lsn) != nil)
            // At once, through the same gateway: the token's fence keeps the standby from
            // answering before it has replayed the write.
            let fetched = try await europe.call("vehicles.get", VehiclesGetParams(id: added.result.vehicle.id),
                                                as: VehicleResult.self, token: owner.token)
            #expect(fetched.vehicle == added.result.vehicle)
            // A client that carries the position itself (e.g. through another gateway).
            let listed = try await europe.call("vehicles.list", VehiclesListParams(city: "amsterdam", limit: 100),
                                               as: VehiclesListResult.self, headers: [("X-MovR-Min-LSN", lsn)])
            #expect(listed.vehicles.contains { $0.id == added.result.vehicle.id })
        }

        // A fence no standby has reached yet: the primary answers, and says so in the metrics.
        let before = try await Self.metric(wan.stack, .vehicles, region: "europe-west1", Self.fencedReads)
        _ = try await europe.call("vehicles.list", VehiclesListParams(city: "amsterdam", limit: 1), as: VehiclesListResult.self,
                                  headers: [("X-MovR-Min-LSN", "FFFFFFFF/0")])
        let after = try await Self.metric(wan.stack, .vehicles, region: "europe-west1", Self.fencedReads)
        #expect(after >= before + 1)

        await expectRPCError(-32602, field: "X-MovR-Min-LSN") {
            try await europe.call("vehicles.list", VehiclesListParams(city: "amsterdam", limit: 1), as: VehiclesListResult.self,
                                  headers: [("X-MovR-Min-LSN", "not-a-position")])
        }
        await europe.shutdown()
    }

    @Test func replicationLagIsMeasuredAndChecked() async throws {
        let wan = try await Self.start()
        #expect(wan.stack.replicas.keys.sorted() == ["europe-west1"])
        #expect(wan.stack.wanLinkCount == 7)
        let (status, output) = try await LocalStackHarness.runTool(["check", "--stack", wan.path])
        #expect(status == 0, "\(output)")
        #expect(output.contains("europe-west1: streaming"), "\(output)")
        // The service measures its standby's staleness bound continuously.
        var lag = try await Self.metric(wan.stack, .vehicles, region: "europe-west1", "movr_replica_lag_seconds")
        for _ in 0..<20 where lag == 0 {
            try await Task.sleep(for: .milliseconds(250))
            lag = try await Self.metric(wan.stack, .vehicles, region: "europe-west1", "movr_replica_lag_seconds")
        }
        #expect(lag > 0 && lag.isFinite)
        // Where reads go is logged when it changes: the standby took over once it was fresh.
        #expect(wan.log("europe-west1-vehicles").contains("the standby is within the lag bound; reads go to it"))
    }
}
