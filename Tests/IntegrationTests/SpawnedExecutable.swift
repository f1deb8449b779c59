import Foundation
import MovRAPI
import MovRDevTools
import MovRInternalAPI
import MovRTestSupport
import MovRTool

/// One more executable beside the shared local stack: its settings (plus `extra`) on a free
/// port, started and answering `system.ping` (the gateway: `cities.list`) before
/// ``start(_:logName:extra:)`` returns.
struct SpawnedExecutable {
    let process: BackgroundProcess
    let port: Int
    /// Its log (stdout and stderr).
    let log: String

    static func start(_ identity: ServiceIdentity, logName: String,
                      extra: [String: String] = [:]) async throws -> SpawnedExecutable {
        let stack = try await LocalStackHarness.shared.start()
        let directory = await LocalStackHarness.shared.directory
        let port = try RawSocket.freePort()
        var environment = try stack.executableEnvironment(for: identity, port: port, stackDirectory: directory)
        for (key, value) in extra { environment[key] = value }
        let log = directory + "/logs/\(logName)-\(identity.rawValue)-\(port).log"
        let process = try await TestProcess.spawn(LocalStackHarness.binaryDirectory + "/movr-\(identity.rawValue)", [],
                                                  currentDirectory: LocalStackHarness.repositoryRoot,
                                                  environment: environment, outputPath: log)
        // The gateway's public listener: its own certificate, no client certificate, `cities.list`.
        let client = identity == .gateway
            ? try PublicClient(url: "https://127.0.0.1:\(port)", caPath: stack.ca, logger: Domain.logger)
            : try PublicClient(url: "https://127.0.0.1:\(port)", serverName: "\(identity.rawValue).movr.internal",
                               caPath: stack.ca, clientCertificate: (stack.clientCertificate, stack.clientKey),
                               logger: Domain.logger)
        let deadline = ContinuousClock.now + .seconds(60)
        do {
            while true {
                do {
                    if identity == .gateway {
                        _ = try await client.call("cities.list", EmptyObject(), as: CitiesListResult.self)
                    } else {
                        _ = try await client.call("system.ping", EmptyObject(), as: EmptyObject.self)
                    }
                    break
                } catch where ContinuousClock.now < deadline && process.exitStatus == nil {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        return SpawnedExecutable(process: process, port: port, log: log)
    }
}
