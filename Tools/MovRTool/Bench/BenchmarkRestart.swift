import Foundation
import MovRRPCTransport
import MovRTLS
import NIOPosix

extension Benchmark {
    /// What a deploy or a restart of one region looks like to its first callers. The primary
    /// region's four executables get SIGTERM and stop (draining); `movr up` starts them again a
    /// second later; as soon as the region's gateway answers `GET /readyz` with 200 (what a
    /// load balancer waits for: the gateway and its region's services answer), the load engine
    /// sends `vehicles.list` (25 rows, the twelve cities in turn) at `rate` for a few seconds,
    /// open model, its own connections opened before its clock starts as in the sweep; then the
    /// same burst again, the path now warm. Restarting replaces the executables the pids file
    /// names, so it comes last, and only on the bench's own stack.
    func restartBursts(stack: StackFile, processes: BenchProcesses, client: PublicClient, cities: [String],
                       rate: Double) async throws -> [BenchResults.SweepPoint] {
        let region = stack.primaryRegion
        let pids = ["gateway", "users", "vehicles", "rides"].flatMap { processes.pids(role: $0, region: region) }
        guard pids.count == 4 else { throw StackError("the pids file names \(pids.count) of \(region)'s four executables") }
        Console.line("restarting \(region)'s executables, then vehicles.list at \(Int(rate)) req/s as soon as its gateway is ready...")
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(90)
        // Gone first (each drains, then exits; `movr up` reaps it), so the readiness seen next
        // is the new instances'.
        while pids.contains(where: { kill($0, 0) == 0 }) {
            guard ContinuousClock.now < deadline else { throw StackError("\(region)'s executables did not stop within 90 s") }
            try await Task.sleep(for: .milliseconds(10))
        }
        let probe = RPCClient(endpoint: try RPCEndpoint(url: try stack.topology.url(of: .gateway, in: region)),
                              tls: try TLSContextProvider(configuration: TLSConfiguration(trustRootsPath: stack.ca), role: .client),
                              eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
        while (try? await probe.probe(path: "/readyz", deadline: .now + .seconds(2))) != 200 {
            guard ContinuousClock.now < deadline else {
                await probe.shutdown()
                throw StackError("\(region)'s gateway was not ready within 90 s of the restart")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        await probe.shutdown()
        var points: [BenchResults.SweepPoint] = []
        for label in BenchmarkReportSections.restartBursts {
            var configuration = LoadConfiguration(duration: options.quick ? 1 : 3, concurrency: options.connections * 4,
                                                  rate: rate)
            configuration.mix = "vehicles.list=1"
            configuration.slowThresholdMs = BenchResults.sweepSlowMs
            let report = await LoadGenerator.run(configuration,
                                                 workload: VehiclesListWorkload(client: client, cities: cities, limit: 25))
            points.append(Self.sweepPoint(label, rate: rate, report: report, operation: .vehiclesList))
        }
        return points
    }
}
