import Foundation
import Logging
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import MovRService
import MovRTestSupport
import MovRTLS
import NIOConcurrencyHelpers
import NIOPosix
import Testing
@testable import MovRUsers

/// The whole service as `movr-users` runs it: configuration, migrations, the mutual-TLS
/// listener, and the call to a (stub) rides service, against a real PostgreSQL.
@Suite struct UsersServiceTests {
    static let localityPath = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/locality.json").path

    @Test func servesTheInternalAPIOverMutualTLS() async throws {
        var logger = Logger(label: "movr.test.users")
        logger.logLevel = .warning
        let group = MultiThreadedEventLoopGroup.singleton
        try await withTestCertificates { certificates in
            let ca = try certificates.makeAuthority(name: "movr")
            let usersCertificate = try certificates.issue(commonName: "users", dnsNames: ["users.movr.internal"], by: ca)
            let gatewayCertificate = try certificates.issue(commonName: "gateway", dnsNames: ["gateway.movr.internal"], by: ca)
            let ridesCertificate = try certificates.issue(commonName: "rides", dnsNames: ["rides.movr.internal"], by: ca)

            // A stand-in rides service that answers whether a rider is riding.
            let riding = NIOLockedValueBox<Set<UUID>>([])
            var ridesDispatcher = RPCDispatcher()
            ridesDispatcher.register(InternalMethod.Rides.activeForRider, params: RiderParams.self,
                                     allowedCallers: ["users"]) { params, _ in
                ActiveRideResult(active: riding.withLockedValue { $0.contains(params.riderID) })
            }
            let ridesServer = RPCServer(
                configuration: RPCServerConfiguration(), dispatcher: ridesDispatcher,
                tls: try TLSContextProvider(configuration: TLSConfiguration(certificate: ridesCertificate, trusting: ca,
                                                                            requireClientCertificate: true),
                                            role: .server),
                eventLoopGroup: group, logger: logger)
            let ridesPort = try await ridesServer.start()

            let configuration = ServiceConfiguration(values: [
                "database-url": try await TestPostgres.createDatabase(prefix: "users"),
                "db-pool-size": "2",
                "locality-config": Self.localityPath,
                "region": "us-east1",
                "tls-ca": ca.certificatePath,
                "tls-cert": usersCertificate.certificatePath,
                "tls-key": usersCertificate.keyPath,
                "listen": "127.0.0.1:0",
                "rides-url": "https://127.0.0.1:\(ridesPort)",
                "session-hours": "2",
            ])
            let runtime = try ServiceRuntime(identity: .users, configuration: configuration, logger: logger,
                                             eventLoopGroup: group)
            let service = try await UsersService(runtime: runtime)
            try await service.prepare()  // threads and migrations, as ServiceMain does
            let servers = try service.makeServers(runtime: runtime)
            var usersClient: RPCClient?
            var failure: (any Error)?
            do {
                #expect(servers.count == 1)
                let port = try await servers[0].start()
                let client = RPCClient(
                    endpoint: RPCEndpoint(host: "127.0.0.1", port: port, serverName: "users.movr.internal"),
                    tls: try TLSContextProvider(configuration: TLSConfiguration(certificate: gatewayCertificate, trusting: ca),
                                                role: .client),
                    eventLoopGroup: group, logger: logger)
                usersClient = client
                try await exercise(client, riding: riding)
            } catch {
                failure = error
            }
            await usersClient?.shutdown()
            for server in servers { await server.shutdownGracefully() }
            await ridesServer.shutdownGracefully()
            await service.shutdown()
            await runtime.rpcClients.shutdown()
            if let failure { throw failure }
        }
    }

    private func exercise(_ users: RPCClient, riding: NIOLockedValueBox<Set<UUID>>) async throws {
        // Each call gets a minute: register and login hash with the production scrypt parameters,
        // and with the whole suite sharing 2 cores a call here once passed the client's default
        // 10 s (504 in CI; the passing run took 34.6 s). The wiring is under test, not latency.
        var options: RPCCallOptions { RPCCallOptions(deadline: .now + .seconds(60), idempotent: false) }
        _ = try await users.call(InternalMethod.ping, params: RPCEmpty(), as: RPCEmpty.self, options: options)

        let registered = try await users.call(
            InternalMethod.Users.register,
            params: UsersRegisterParams(username: "e2e", password: "password-123", email: "e2e@example.com",
                                        firstName: "End", lastName: "ToEnd", city: "Boston"),
            as: UserResult.self, options: options)
        #expect(registered.user.city == "boston")
        #expect(registered.user.region == "us-east1")

        let login = try await users.call(
            InternalMethod.Users.login,
            params: InternalLoginParams(username: "e2e", password: "password-123", clientAddress: nil),
            as: AuthLoginResult.self, options: options)
        let lifetime = login.expiresAt.timeIntervalSinceNow
        #expect(lifetime > 6000 && lifetime <= 7200, "session-hours = 2")
        // The hash stored by the running service uses the production parameters.
        let session = try await users.call(InternalMethod.Users.session, params: SessionTokenParams(token: login.token),
                                           as: SessionResult.self, options: options)
        #expect(session.user == registered.user)

        // Deleting is refused while the rides service reports an active ride.
        riding.withLockedValue { _ = $0.insert(registered.user.id) }
        do {
            _ = try await users.call(InternalMethod.Users.delete, params: UserIDParams(id: registered.user.id),
                                     as: RPCEmpty.self, options: options)
            Issue.record("delete during a ride succeeded")
        } catch let error as RPCError {
            #expect(error.code == 409)
            #expect(error.data?.reason == "active_ride_exists")
        }
        riding.withLockedValue { $0.removeAll() }
        _ = try await users.call(InternalMethod.Users.delete, params: UserIDParams(id: registered.user.id),
                                 as: RPCEmpty.self, options: options)
        do {
            _ = try await users.call(InternalMethod.Users.session, params: SessionTokenParams(token: login.token),
                                     as: SessionResult.self, options: options)
            Issue.record("session survived the delete")
        } catch let error as RPCError {
            #expect(error.code == 401)
            #expect(error.data?.reason == "invalid_token")
        }

        // The gateway's certificate does not grant operator methods.
        do {
            _ = try await users.call(InternalMethod.Users.grantRole, params: GrantRoleParams(username: "e2e", role: "admin"),
                                     as: UserResult.self, options: options)
            Issue.record("gateway granted a role")
        } catch let error as RPCError {
            #expect(error.code == 403)
        }
    }
}
