import Foundation
import Logging
import MovRService
import MovRTLS
import MovRTestSupport
import Testing

/// `CertificateReloadService` reloads at once on SIGHUP, even when the periodic check would not
/// come for an hour (how an operator or `make test-compose` makes a rotation take effect now).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct CertificateReloadServiceTests {
    @Test func sighupReloadsEveryProviderAtOnce() async throws {
        try await withTestCertificates { certificates in
            let authority = try certificates.makeAuthority(name: "deployment")
            _ = try certificates.issue(commonName: "users-v1", dnsNames: ["users.movr.internal"], by: authority, file: "users")
            let provider = try TLSContextProvider(
                configuration: TLSConfiguration(certificateChainPath: certificates.path("users.pem"),
                                                privateKeyPath: certificates.path("users.key"),
                                                trustRootsPath: authority.certificatePath),
                role: .server)
            // Ignored before the service starts too, so an early signal cannot end the test process.
            signal(SIGHUP, SIG_IGN)
            // What the service logs says which signals it has handled.
            let log = LogHandlerTests.Capture()
            let logger = Logger(label: "test") { _ in StreamLogHandler(label: "test", stream: log, metadataProvider: nil) }
            func handled(_ message: String) -> Int { log.written.filter { $0.contains(message) }.count }
            let service = CertificateReloadService(providers: [provider], interval: .seconds(3600), logger: logger)
            let running = Task { try await service.run() }
            defer { running.cancel() }

            let original = provider.current
            _ = try certificates.issue(commonName: "users-v2", dnsNames: ["users.movr.internal"], by: authority, file: "users")
            // The signal source may not be armed yet when the first signal is sent: repeat until
            // the new certificate is in use (the suite's time limit ends a run where it never is).
            while provider.current === original {
                kill(getpid(), SIGHUP)
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(provider.current !== original)
            // Signals sent while the first reload ran may still be queued: each reloads the same
            // files into a new context. Wait until the count of reloads has held for a second.
            var reloads = handled("certificates reloaded (signal)")
            var steadySince = ContinuousClock.now
            while ContinuousClock.now - steadySince < .seconds(1) {
                try await Task.sleep(for: .milliseconds(50))
                let now = handled("certificates reloaded (signal)")
                if now != reloads { (reloads, steadySince) = (now, ContinuousClock.now) }
            }

            // A broken file on SIGHUP keeps the working context: checked once the service has
            // logged the failed reload, not after a pause it may outlast.
            let working = provider.current
            try Data("not a key".utf8).write(to: URL(fileURLWithPath: certificates.path("users.key")))
            kill(getpid(), SIGHUP)
            while handled("certificate reload failed") == 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(provider.current === working)
            #expect(handled("certificates reloaded (signal)") == reloads)
        }
    }
}
