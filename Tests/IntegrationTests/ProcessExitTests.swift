import Foundation
import MovRAPI
import MovRInternalAPI
import MovRTestSupport
import MovRTool
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// An executable's last moments with OpenSSL. By default OpenSSL registers `OPENSSL_cleanup`
/// with `atexit`, and `exit` runs it while event-loop threads may still be closing
/// connections: an `SSL_free` during or after the cleanup uses memory the cleanup freed. (A CI
/// run saw `movr grant-admin` crash under the compose stack's load, its output lost; this probe
/// then showed such a free in the same command.) Every executable
/// therefore initializes OpenSSL without that cleanup, and a client's `shutdown()` returns only
/// once its connections are released.
///
/// The probe is a small library loaded with `LD_PRELOAD` into the real executables: it
/// records `OPENSSL_cleanup`, each `SSL_new` and `SSL_free`, and the start of `exit`'s
/// handlers, into the file `OPENSSL_EXIT_PROBE_LOG` names. Its `SSL_free` on any thread but the main
/// one waits 200 ms first, so a free that races `exit` loses that race every time.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MOVR_GATEWAY_URL"] == nil,
                "loads a probe into executables it starts itself"))
struct ProcessExitTests {
    @Test func theToolReleasesItsConnectionsAndLeavesOpenSSLAloneAtExit() async throws {
        let probe = try await Self.probeLibrary()
        let domain = try await Domain.connect()
        let user = try await domain.newUser()
        let stackPath = await LocalStackHarness.shared.stackPath
        let certs = await LocalStackHarness.shared.directory + "/certs"
        let users = try domain.stack.topology.url(of: .users, in: domain.stack.primaryRegion)
        for arguments in [["grant-admin", user.user.username, "--stack", stackPath],
                          ["health", "users", "--url", users, "--certs-dir", certs]] {
            let log = NSTemporaryDirectory() + "movr-exit-probe-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: log) }
            var environment = ProcessInfo.processInfo.environment
            environment["LD_PRELOAD"] = probe
            environment["OPENSSL_EXIT_PROBE_LOG"] = log
            let output = try await TestProcess.run(LocalStackHarness.binaryDirectory + "/movr", arguments,
                                                   currentDirectory: LocalStackHarness.repositoryRoot,
                                                   environment: environment)
            #expect(output.status == 0, "\(arguments[0]): \(output.text)")
            let events = Self.events(log)
            #expect(events.contains("new"), "\(arguments[0]): the probe saw no connection: \(events)")
            #expect(!events.contains("cleanup"), "\(arguments[0]): OpenSSL's atexit cleanup ran: \(events)")
            // Every connection was freed before exit began: none was left to the event loop.
            let beforeExit = events.prefix { $0 != "exit" }
            #expect(beforeExit.filter { $0 == "new" }.count == beforeExit.filter { $0 == "free" }.count,
                    "\(arguments[0]): \(events)")
        }
        await domain.shutdown()
    }

    /// A service stopped with SIGTERM exits 0 without running OpenSSL's cleanup, whatever its
    /// event loops are still closing.
    @Test func aStoppedServiceLeavesOpenSSLAloneAtExit() async throws {
        let probe = try await Self.probeLibrary()
        let log = NSTemporaryDirectory() + "movr-exit-probe-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let users = try await SpawnedExecutable.start(.users, logName: "exit-probe",
                                                      extra: ["LD_PRELOAD": probe, "OPENSSL_EXIT_PROBE_LOG": log])
        let status = await users.process.terminate(grace: .seconds(30))
        let text = (try? String(contentsOfFile: users.log, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(text.suffix(2000))")
        let events = Self.events(log)
        #expect(events.contains("new"), "the probe saw no connection: \(events)")
        #expect(events.contains("exit"), "\(events)")
        #expect(!events.contains("cleanup"), "OpenSSL's atexit cleanup ran: \(events)")
    }

    static func events(_ path: String) -> [Substring] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    static let probeSource = #"""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <fcntl.h>
        #include <pthread.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>

        static int probe_fd = -1;
        static pthread_t main_thread;

        static void record(const char *event) {
            if (probe_fd >= 0) {
                char line[32];
                size_t length = strlen(event);
                memcpy(line, event, length);
                line[length] = '\n';
                (void)!write(probe_fd, line, length + 1);
            }
        }

        static void exiting(void) { record("exit"); }

        __attribute__((constructor)) static void start(void) {
            const char *path = getenv("OPENSSL_EXIT_PROBE_LOG");
            if (path) probe_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            main_thread = pthread_self();
            // Registered before the program's own handlers, so it runs after them: "exit" is
            // written when exit's handlers are done and the process is about to end.
            atexit(exiting);
        }

        void OPENSSL_cleanup(void) {
            void (*real)(void) = (void (*)(void))dlsym(RTLD_NEXT, "OPENSSL_cleanup");
            record("cleanup");
            real();
        }

        void *SSL_new(void *context) {
            void *(*real)(void *) = (void *(*)(void *))dlsym(RTLD_NEXT, "SSL_new");
            void *ssl = real(context);
            if (ssl) record("new");
            return ssl;
        }

        void SSL_free(void *ssl) {
            void (*real)(void *) = (void (*)(void *))dlsym(RTLD_NEXT, "SSL_free");
            if (ssl && !pthread_equal(pthread_self(), main_thread)) usleep(200000);
            real(ssl);
            if (ssl) record("free");
        }
        """#

    /// The probe, compiled with the toolchain's C compiler into a directory of its own.
    static func probeLibrary() async throws -> String {
        let directory = NSTemporaryDirectory() + "movr-exit-probe-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let source = directory + "/probe.c", library = directory + "/probe.so"
        try probeSource.write(toFile: source, atomically: true, encoding: .utf8)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        let candidates = path.split(separator: ":").flatMap { ["\($0)/clang", "\($0)/cc"] }
        guard let compiler = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HarnessError("no C compiler (clang or cc) on PATH to build the exit probe")
        }
        let output = try await TestProcess.run(compiler, ["-shared", "-fPIC", "-O1", "-o", library, source, "-ldl", "-lpthread"])
        guard output.status == 0 else {
            throw HarnessError("\(compiler) could not build the exit probe: \(output.text)")
        }
        return library
    }
}
