import Foundation
import MovRAPI
import MovRInternalAPI
import MovRTestSupport
import MovRTool
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM stops a running executable in order: the listener stops accepting and drains, then
/// the background services and the database; the process logs both and exits 0.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil,
                "starts its own executable next to a local stack"))
struct GracefulShutdownTests {
    @Test func sigtermDrainsThenStopsAndExitsZero() async throws {
        let stack = try await LocalStackHarness.shared.start()
        let directory = await LocalStackHarness.shared.directory
        let port = try RawSocket.freePort()
        let environment = try stack.executableEnvironment(for: .rides, port: port, stackDirectory: directory)
        let log = directory + "/logs/graceful-rides-\(port).log"
        let process = try await TestProcess.spawn(LocalStackHarness.binaryDirectory + "/movr-rides", [],
                                                  currentDirectory: LocalStackHarness.repositoryRoot,
                                                  environment: environment, outputPath: log)
        let client = try PublicClient(url: "https://127.0.0.1:\(port)", serverName: "rides.movr.internal",
                                      caPath: stack.ca, clientCertificate: (stack.clientCertificate, stack.clientKey),
                                      logger: Domain.logger)
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                _ = try await client.call("system.ping", EmptyObject(), as: EmptyObject.self)
                break
            } catch where ContinuousClock.now < deadline && process.exitStatus == nil {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        await client.shutdown()

        let status = await process.terminate(grace: .seconds(30))
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(text.suffix(2000))")
        let drained = try #require(text.range(of: "drained"), "\(text.suffix(2000))")
        let stopped = try #require(text.range(of: "[MovRService] stopped"), "\(text.suffix(2000))")
        #expect(drained.lowerBound < stopped.lowerBound)
    }
}
