import Foundation
import Logging
import MovRAPI
import MovRInternalAPI
import MovRRPC
import MovRRPCTransport
import MovRRides
import MovRService
import MovRTestSupport
import MovRTLS
import NIOConcurrencyHelpers
import NIOPosix
import Testing

/// The whole service as `movr-rides` runs it: configuration, pricing, migrations, the mutual-TLS
/// listener, and its calls to a stand-in vehicles service over mutual TLS, against a real
/// PostgreSQL. (The real vehicles service is exercised by the integration tests.)
@Suite struct RidesServiceTests {
    static let configDirectory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config").path

    /// In-memory vehicles with the real service's reserve/release semantics per ride id.
    struct StandInVehicles: Sendable {
        struct Entry: Sendable {
            var vehicle: Vehicle
            var rideID: UUID?
            var reservedAt: Date?
        }

        let state = NIOLockedValueBox<[UUID: Entry]>([:])

        func add() -> UUID {
            let id = UUID()
            let vehicle = Vehicle(id: id, type: .scooter, city: "boston", region: "us-east1", ownerID: UUID(),
                                  status: .available, battery: 100, location: Location(latitude: 42.36, longitude: -71.06),
                                  color: "blue", brand: "stand-in", createdAt: Date())
            state.withLockedValue { $0[id] = Entry(vehicle: vehicle) }
            return id
        }

        func entry(_ id: UUID) -> Entry? { state.withLockedValue { $0[id] } }

        func dispatcher() -> RPCDispatcher {
            var dispatcher = RPCDispatcher()
            let state = self.state
            dispatcher.register(InternalMethod.Vehicles.reserve, of: .vehicles, params: ReserveVehicleParams.self) { params, _ in
                try state.withLockedValue { vehicles -> VehicleResult in
                    guard var entry = vehicles[params.vehicleID] else { throw RPCError.notFound(reason: "vehicle_not_found") }
                    if entry.rideID == nil {
                        entry.rideID = params.rideID
                        entry.reservedAt = Date()
                        entry.vehicle.status = .inUse
                        vehicles[params.vehicleID] = entry
                    }
                    guard entry.rideID == params.rideID else { throw RPCError.conflict(reason: "vehicle_unavailable") }
                    return VehicleResult(vehicle: entry.vehicle)
                }
            }
            dispatcher.register(InternalMethod.Vehicles.release, of: .vehicles, params: ReleaseVehicleParams.self) { params, _ in
                try state.withLockedValue { vehicles -> VehicleResult in
                    guard var entry = vehicles[params.vehicleID] else { throw RPCError.notFound(reason: "vehicle_not_found") }
                    if entry.rideID == params.rideID {
                        entry.rideID = nil
                        entry.reservedAt = nil
                        entry.vehicle.status = .available
                        if let location = params.location { entry.vehicle.location = location }
                        if let battery = params.battery { entry.vehicle.battery = battery }
                        vehicles[params.vehicleID] = entry
                    }
                    return VehicleResult(vehicle: entry.vehicle)
                }
            }
            dispatcher.register(InternalMethod.Vehicles.listInUse, of: .vehicles, params: VehiclesInUseParams.self) { _, _ in
                VehiclesInUseResult(reservations: state.withLockedValue { vehicles in
                    vehicles.values.compactMap { entry in
                        guard let rideID = entry.rideID, let reservedAt = entry.reservedAt else { return nil }
                        return VehicleReservation(vehicleID: entry.vehicle.id, rideID: rideID,
                                                  region: entry.vehicle.region, reservedAt: reservedAt)
                    }
                })
            }
            return dispatcher
        }
    }

    @Test func servesRidesOverMutualTLSAndRepairsADeadStart() async throws {
        var logger = Logger(label: "movr.test.rides")
        logger.logLevel = .warning
        let group = MultiThreadedEventLoopGroup.singleton
        try await withTestCertificates { certificates in
            let ca = try certificates.makeAuthority(name: "movr")
            let ridesCertificate = try certificates.issue(commonName: "rides", dnsNames: ["rides.movr.internal"], by: ca)
            let vehiclesCertificate = try certificates.issue(commonName: "vehicles", dnsNames: ["vehicles.movr.internal"], by: ca)
            let gatewayCertificate = try certificates.issue(commonName: "gateway", dnsNames: ["gateway.movr.internal"], by: ca)
            let usersCertificate = try certificates.issue(commonName: "users", dnsNames: ["users.movr.internal"], by: ca)

            let vehicles = StandInVehicles()
            let vehiclesServer = RPCServer(
                configuration: RPCServerConfiguration(), dispatcher: vehicles.dispatcher(),
                tls: try TLSContextProvider(configuration: TLSConfiguration(certificate: vehiclesCertificate, trusting: ca,
                                                                            requireClientCertificate: true),
                                            role: .server),
                eventLoopGroup: group, logger: logger)
            let vehiclesPort = try await vehiclesServer.start()

            let configuration = ServiceConfiguration(values: [
                "database-url": try await TestPostgres.createDatabase(prefix: "rides"),
                "db-pool-size": "4",
                "locality-config": Self.configDirectory + "/locality.json",
                "pricing-config": Self.configDirectory + "/pricing.json",
                "region": "us-east1",
                "tls-ca": ca.certificatePath,
                "tls-cert": ridesCertificate.certificatePath,
                "tls-key": ridesCertificate.keyPath,
                "listen": "127.0.0.1:0",
                "vehicles-url": "https://127.0.0.1:\(vehiclesPort)",
                "reconcile-grace-seconds": "1",
            ])
            let runtime = try ServiceRuntime(identity: .rides, configuration: configuration, logger: logger,
                                             eventLoopGroup: group)
            let service = try await RidesService(runtime: runtime)
            try await service.prepare()  // threads and migrations, as ServiceMain does
            let servers = try service.makeServers(runtime: runtime)
            var clients: [RPCClient] = []
            var failure: (any Error)?
            do {
                let port = try await servers[0].start()
                func client(_ certificate: TestCertificates.Certificate) throws -> RPCClient {
                    let client = RPCClient(
                        endpoint: RPCEndpoint(host: "127.0.0.1", port: port, serverName: "rides.movr.internal"),
                        tls: try TLSContextProvider(configuration: TLSConfiguration(certificate: certificate, trusting: ca),
                                                    role: .client),
                        eventLoopGroup: group, logger: logger)
                    clients.append(client)
                    return client
                }
                try await exercise(gateway: try client(gatewayCertificate), users: try client(usersCertificate),
                                   vehicles: vehicles, service: service)
            } catch {
                failure = error
            }
            for client in clients { await client.shutdown() }
            for server in servers { await server.shutdownGracefully() }
            await vehiclesServer.shutdownGracefully()
            await service.shutdown()
            await runtime.rpcClients.shutdown()
            if let failure { throw failure }
        }
    }

    private func exercise(gateway: RPCClient, users: RPCClient, vehicles: StandInVehicles,
                          service: RidesService) async throws {
        let options = RPCCallOptions(idempotent: false)
        let rider = UUID()
        let vehicle = vehicles.add()
        let start = InternalRidesStartParams(idempotencyKey: "first-ride", riderID: rider, vehicleID: vehicle)

        // Only the gateway may start rides.
        do {
            _ = try await users.call(InternalMethod.Rides.start, params: start, as: RideResult.self, options: options)
            Issue.record("users started a ride")
        } catch let error as RPCError {
            #expect(error.code == 403)
        }

        let ride = try await gateway.call(InternalMethod.Rides.start, params: start, as: RideResult.self, options: options).ride
        #expect(ride.vehicleID == vehicle && ride.city == "boston" && ride.currency == "USD")
        // The service names the ride by the rider and the key: a retry names the same ride.
        #expect(ride.id == (try IdempotentCreate.objectID(.ride, owner: rider, key: "first-ride")))
        #expect(try await gateway.call(InternalMethod.Rides.start, params: start, as: RideResult.self, options: options).ride == ride)
        #expect(vehicles.entry(vehicle)?.rideID == ride.id)
        let active = try await users.call(InternalMethod.Rides.activeForRider, params: RiderParams(riderID: rider),
                                          as: ActiveRideResult.self, options: options)
        #expect(active.active)

        let end = Location(latitude: 42.35, longitude: -71.07)
        let ended = try await gateway.call(
            InternalMethod.Rides.end, params: InternalRidesEndParams(rideID: ride.id, riderID: rider, location: end, battery: 77),
            as: RideResult.self, options: options).ride
        #expect(ended.revenue == "1.25" && ended.endLocation == end)
        #expect(vehicles.entry(vehicle)?.rideID == nil)
        #expect(vehicles.entry(vehicle)?.vehicle.location == end && vehicles.entry(vehicle)?.vehicle.battery == 77)

        // A start that died after reserving: the reconciler tombstones it and frees the vehicle.
        let stranded = vehicles.add()
        let deadRider = UUID()
        let deadRide = try IdempotentCreate.objectID(.ride, owner: deadRider, key: "stranded-start")
        vehicles.state.withLockedValue {
            $0[stranded]?.rideID = deadRide
            $0[stranded]?.reservedAt = Date().addingTimeInterval(-30)
        }
        let report = try await service.reconciler.reconcileOnce()
        #expect(report.cancelledRideIDs == [deadRide])
        #expect(vehicles.entry(stranded)?.rideID == nil)
        do {
            _ = try await gateway.call(InternalMethod.Rides.start,
                                       params: InternalRidesStartParams(idempotencyKey: "stranded-start", riderID: deadRider,
                                                                                vehicleID: stranded),
                                       as: RideResult.self, options: options)
            Issue.record("a tombstoned ride id started")
        } catch let error as RPCError {
            #expect(error.code == 409 && error.data?.reason == "vehicle_unavailable")
        }
    }
}
