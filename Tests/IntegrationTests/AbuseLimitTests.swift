import Foundation
import Logging
import MovRAPI
import MovRRPC
import MovRTestSupport
import MovRTool
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The cheap attacks of docs/operations.md ("Abuse limits"), each done for real against a
/// dedicated `movr-users` and `movr-gateway` of us-east1 (production scrypt cost, tight limits)
/// that share the test stack's databases and other services, while a bystander shows that
/// others are still served. The gateway trusts 127.0.0.1 as its load balancer, so requests from
/// here carry their "client" in `X-Forwarded-For`; the raw-socket flood comes from 127.0.0.2,
/// which it does not trust.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil,
                             "starts its own executables next to a local stack"))
struct AbuseLimitTests {
    static let perClientConnections = 4

    @Test func aRegistrationFloodFromOneClientIsCutOffWhileOthersRegister() async throws {
        let stack = try await AbuseStack.shared.start()
        let attacker = [("x-forwarded-for", "203.0.113.7")]
        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    await Self.outcome {
                        try await stack.api.call("users.register", Self.registration(Domain.uniqueName("flood")),
                                                 as: UserResult.self, headers: attacker)
                    }
                }
            }
            return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        }
        // The client's bucket holds five registrations a minute (MOVR_REGISTER_PER_CLIENT_PER_MINUTE).
        #expect(outcomes["ok", default: 0] <= 5, "\(outcomes)")
        #expect(outcomes["429 too_many_attempts", default: 0] >= 35, "\(outcomes)")
        #expect(Set(outcomes.keys).isSubset(of: ["ok", "429 too_many_attempts", "503 overloaded"]), "\(outcomes)")

        // Another client registers and signs in at once: the flood used its own bucket only.
        let bystander = [("x-forwarded-for", "198.51.100.20")]
        let name = Domain.uniqueName("bystander")
        _ = try await retryingShedHashes {
            try await stack.api.call("users.register", Self.registration(name), as: UserResult.self, headers: bystander)
        }
        _ = try await retryingShedHashes {
            try await stack.api.call("auth.login", AuthLoginParams(username: name, password: Self.password),
                                     as: AuthLoginResult.self, headers: bystander)
        }
    }

    @Test func sessionChecksAreServedWhileAHashingFloodIsShed() async throws {
        let stack = try await AbuseStack.shared.start()
        let rider = try await stack.signedIn(client: "198.51.100.30")
        // Guesses from 120 different addresses (so no per-client limit applies), all at once:
        // every one costs a full scrypt, 120 times what the one hashing thread can do in the
        // queue's two-second bound.
        async let flood = withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<120 {
                group.addTask {
                    await Self.outcome {
                        try await stack.api.call("auth.login",
                                                 AuthLoginParams(username: "nobody_\(index)", password: "not the password"),
                                                 as: AuthLoginResult.self,
                                                 headers: [("x-forwarded-for", "192.0.2.\(index + 1)")])
                    }
                }
            }
            return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        }
        // Meanwhile the rider's session checks (users.me: one session lookup, no hashing).
        var served = 0
        for _ in 0..<20 {
            let me = try await stack.api.call("users.me", EmptyObject(), as: UserResult.self, token: rider.token,
                                              headers: [("x-forwarded-for", "198.51.100.30")])
            #expect(me.user.id == rider.user.id)
            served += 1
        }
        let outcomes = try await flood
        #expect(served == 20)
        #expect(outcomes["503 overloaded", default: 0] > 0, "the queue bound never shed: \(outcomes)")
        #expect(Set(outcomes.keys).isSubset(of: ["401 invalid_credentials", "503 overloaded"]), "\(outcomes)")
    }

    @Test func guessingAPasswordCannotLockItsOwnerOut() async throws {
        let stack = try await AbuseStack.shared.start()
        let victim = try await stack.signedIn(client: "198.51.100.40")
        // One batch of 50 wrong passwords from one address.
        let attacker = [("x-forwarded-for", "203.0.113.40")]
        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    await Self.outcome {
                        try await stack.api.call("auth.login", AuthLoginParams(username: victim.username, password: "guess-123"),
                                                 as: AuthLoginResult.self, headers: attacker)
                    }
                }
            }
            return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        }
        // Five passwords checked for the pair at most; every other guess waits (429) or is shed
        // while those hash (503, which does not count as a guess).
        #expect(outcomes["401 invalid_credentials", default: 0] <= 5, "\(outcomes)")
        #expect(outcomes["429 too_many_attempts", default: 0] + outcomes["503 overloaded", default: 0] >= 45, "\(outcomes)")
        #expect(Set(outcomes.keys).isSubset(of: ["401 invalid_credentials", "429 too_many_attempts", "503 overloaded"]),
                "\(outcomes)")

        // The owner, from their own address, signs in on the first try.
        _ = try await retryingShedHashes {
            try await stack.api.call("auth.login", AuthLoginParams(username: victim.username, password: Self.password),
                                     as: AuthLoginResult.self, headers: [("x-forwarded-for", "198.51.100.41")])
        }
        // And a batch of logins for many names from one address does not stop another
        // client's sign-in either.
        _ = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<50 {
                group.addTask {
                    await Self.outcome {
                        try await stack.api.call("auth.login", AuthLoginParams(username: "spray_\(index)", password: "x-password"),
                                                 as: AuthLoginResult.self, headers: [("x-forwarded-for", "203.0.113.41")])
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        _ = try await retryingShedHashes {
            try await stack.api.call("auth.login", AuthLoginParams(username: victim.username, password: Self.password),
                                     as: AuthLoginResult.self, headers: [("x-forwarded-for", "198.51.100.42")])
        }
    }

    @Test func aSlowClientFloodIsCappedAndTimedOutWhileOthersAreServed() async throws {
        let stack = try await AbuseStack.shared.start()
        let refusedBefore = try await stack.refusedConnections()
        // 40 connections from 127.0.0.2 that never send a byte (not even a TLS hello).
        var sockets: [Int32] = []
        defer { for socket in sockets { close(socket) } }
        for _ in 0..<40 { sockets.append(try RawSocket.connect(from: "127.0.0.2", to: stack.gatewayPort)) }
        // Wait until the server has decided about every one: the refused ones are closed at once.
        var refused = 0
        for _ in 0..<200 {
            refused = try await stack.refusedConnections() - refusedBefore
            if refused >= 40 - Self.perClientConnections { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let metrics = try await stack.metricsText()
        #expect(refused == 40 - Self.perClientConnections, "\(metrics)")

        // While the client's four connections are held, others are served: through the trusted
        // load balancer address, and straight from another untrusted address (curl from 127.0.0.3).
        _ = try await stack.api.call("cities.list", EmptyObject(), as: CitiesListResult.self)
        let direct = try await TestProcess.run(
            "/usr/bin/curl", ["-sS", "--max-time", "30", "--interface", "127.0.0.3", "--cacert", stack.caPath,
                              "-H", "content-type: application/json",
                              "--data", #"{"jsonrpc":"2.0","id":1,"method":"cities.list","params":{}}"#,
                              "https://127.0.0.1:\(stack.gatewayPort)/rpc"])
        #expect(direct.status == 0 && direct.text.contains("\"result\""), "\(direct.text)")

        // The held connections are closed by the server when the read timeout (8 s) passes:
        // each read ends (EOF or reset) instead of blocking until this test's 30 s guard.
        var closedByServer = 0
        for socket in sockets where RawSocket.waitsForClose(socket, guardSeconds: 30) { closedByServer += 1 }
        #expect(closedByServer == 40)
    }

    // MARK: Helpers

    static let password = "correct horse battery"

    static func registration(_ name: String) -> UsersRegisterParams {
        UsersRegisterParams(username: name, password: password, email: "\(name)@example.com", firstName: "Abuse",
                            lastName: "Test", city: "new york")
    }

    /// "ok", or the error's "code reason".
    static func outcome(_ call: () async throws -> some Any) async -> String {
        do {
            _ = try await call()
            return "ok"
        } catch let error as RPCError {
            return "\(error.code) \(error.data?.reason ?? "-")"
        } catch {
            return "transport: \(error)"
        }
    }
}

/// A us-east1 users service and gateway of their own, with tight limits, next to the test stack.
actor AbuseStack {
    static let shared = AbuseStack()

    struct Running: Sendable {
        var api: PublicClient
        var gatewayPort: Int
        var caPath: String

        func signedIn(client: String) async throws -> (username: String, user: User, token: String) {
            let name = Domain.uniqueName("abuse")
            let headers = [("x-forwarded-for", client)]
            _ = try await retryingShedHashes {
                try await api.call("users.register", AbuseLimitTests.registration(name), as: UserResult.self,
                                   headers: headers)
            }
            let login = try await retryingShedHashes {
                try await api.call("auth.login", AuthLoginParams(username: name, password: AbuseLimitTests.password),
                                   as: AuthLoginResult.self, headers: headers)
            }
            return (name, login.user, login.token)
        }

        func metricsText() async throws -> String {
            try await TestProcess.run("/usr/bin/curl", ["-sS", "--max-time", "30", "--cacert", caPath,
                                                         "https://127.0.0.1:\(gatewayPort)/metrics"]).text
        }

        /// `movr_connections_refused_total{reason="client_full"}` of the gateway.
        func refusedConnections() async throws -> Int {
            for line in try await metricsText().split(separator: "\n")
            where line.hasPrefix("movr_connections_refused_total") && line.contains(#"reason="client_full""#) {
                return Int(Double(line.split(separator: " ").last ?? "") ?? 0)
            }
            return 0
        }
    }

    private var running: Task<Running, any Error>?

    func start() async throws -> Running {
        if let running { return try await running.value }
        let task = Task { try await launch() }
        running = task
        return try await task.value
    }

    private func launch() async throws -> Running {
        let stack = try await LocalStackHarness.shared.start()
        let directory = await LocalStackHarness.shared.directory
        let usersPort = try RawSocket.freePort()
        let gatewayPort = try RawSocket.freePort()
        // The test stack's topology, with us-east1's users and gateway replaced by these two.
        let stackPath = directory + "/stack.json"
        guard let data = FileManager.default.contents(atPath: stackPath),
              var object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              var regions = object["regions"] as? [String: Any],
              var east = regions["us-east1"] as? [String: String] else {
            throw HarnessError("cannot read \(stackPath)")
        }
        east["users"] = "https://127.0.0.1:\(usersPort)"
        east["gateway"] = "https://127.0.0.1:\(gatewayPort)"
        regions["us-east1"] = east
        object["regions"] = regions
        let topology = directory + "/abuse-stack.json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: topology))

        var common = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MOVR_") }
        common["MOVR_REGION"] = "us-east1"
        common["MOVR_CERTS_DIR"] = directory + "/certs"
        common["MOVR_TOPOLOGY"] = topology
        common["MOVR_EXIT_WITH_PARENT"] = "true"
        common["MOVR_LOG_LEVEL"] = "info"

        var users = common
        users["MOVR_LISTEN"] = "127.0.0.1:\(usersPort)"
        users["MOVR_DATABASE_URL"] = DatabaseSetup.serviceURL(superuserURL: stack.databaseURL, database: .users)
        users["MOVR_MIGRATE"] = "false"  // the gateway owns no database and accepts no such setting
        users["MOVR_HASH_THREADS"] = "1"
        users["MOVR_REGISTER_PER_CLIENT_PER_MINUTE"] = "5"
        // Production cost (2^17) and production login and queue limits.
        var gateway = common
        gateway["MOVR_LISTEN"] = "127.0.0.1:\(gatewayPort)"
        gateway["MOVR_LOG_LEVEL"] = "debug"  // failed upstream calls, for a failure's post-mortem
        gateway["MOVR_TRUSTED_PROXIES"] = "127.0.0.1"
        gateway["MOVR_MAX_CONNECTIONS_PER_CLIENT"] = "\(AbuseLimitTests.perClientConnections)"
        // Long enough for 120 TLS handshakes of a flood on two busy cores (a connection whose
        // request is not read in time is closed, and a sign-in cannot be sent again).
        gateway["MOVR_PUBLIC_READ_TIMEOUT_SECONDS"] = "8"
        // For the refused-connection counter; only this test process can reach it.
        gateway["MOVR_PUBLIC_METRICS"] = "true"
        gateway["MOVR_PUBLIC_IDLE_TIMEOUT_SECONDS"] = "3"

        for (name, environment) in [("users", users), ("gateway", gateway)] {
            _ = try await TestProcess.spawn(LocalStackHarness.binaryDirectory + "/movr-\(name)", [],
                                      currentDirectory: LocalStackHarness.repositoryRoot, environment: environment,
                                      outputPath: directory + "/logs/abuse-\(name).log")
        }
        // Enough connections that a flood reaches the gateway at once instead of queueing here.
        // Idle connections dropped well before the gateway's 3 s idle timeout closes them.
        let api = try PublicClient(url: "https://127.0.0.1:\(gatewayPort)", caPath: stack.ca, maxConnections: 160,
                                   idleTimeout: .seconds(1), logger: Domain.logger)
        let deadline = ContinuousClock.now + .seconds(120)
        while true {
            do {
                _ = try await api.call("users.me", EmptyObject(), as: UserResult.self, token: "not-a-token")
            } catch let error as RPCError where error.code == RPCError.Code.unauthenticated {
                break  // the gateway answered after asking the new users service
            } catch where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        return Running(api: api, gatewayPort: gatewayPort, caPath: stack.ca)
    }
}

/// Plain TCP sockets for the slow-client flood.
enum RawSocket {
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw HarnessError("socket: \(errno)") }
        defer { close(socket) }
        var address = sockaddr_in(family: "127.0.0.1", port: 0)
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else {
            throw HarnessError("bind: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getsockname(socket, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A blocking TCP connection from `source` (a loopback address) to 127.0.0.1:`port`.
    static func connect(from source: String, to port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw HarnessError("socket: \(errno)") }
        var local = sockaddr_in(family: source, port: 0)
        var remote = sockaddr_in(family: "127.0.0.1", port: UInt16(port))
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, connected == 0 else {
            close(socket)
            throw HarnessError("connect from \(source): \(errno)")
        }
        return socket
    }

    /// Whether the peer closes `socket` (read returns 0 or fails other than by timing out)
    /// within `guardSeconds`.
    static func waitsForClose(_ socket: Int32, guardSeconds: Int) -> Bool {
        var timeout = timeval(tv_sec: guardSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        while true {
            let count = read(socket, &byte, 1)
            if count == 0 { return true }
            if count < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }
}

extension sockaddr_in {
    init(family address: String, port: UInt16) {
        self.init()
        sin_family = sa_family_t(AF_INET)
        sin_port = port.bigEndian
        inet_pton(AF_INET, address, &sin_addr)
    }
}
