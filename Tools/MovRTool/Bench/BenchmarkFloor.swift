import Foundation
import MovRAPI
import MovRDevTools
import MovRInternalAPI
import MovRRPC

/// The hot path's shape with nothing of MovR in it, for `movr bench` to measure beside the
/// gateway in the same run: a client's TLS connection to HAProxy (the stack's public
/// certificate), which forwards over a pooled mutual-TLS 1.3 connection (the gateway's client
/// certificate, the vehicles service's server name verified) to a second HAProxy (the vehicles
/// service's certificate, client certificates required), which answers every request with the
/// gateway's own reply, read once from a file. No JSON-RPC, no database: what wrk reaches through
/// it is the most two TLS hops of a mature C proxy reach on this machine before any work is done.
///
/// Owns the two `haproxy` processes and its working directory (certificate bundles, reply,
/// configurations, logs).
struct TransportFloor: Sendable {
    static let haproxy = "/usr/sbin/haproxy"

    let outer: BackgroundProcess
    let inner: BackgroundProcess
    /// `https://127.0.0.1:PORT` of the outer proxy (the client's side).
    let url: String
    /// Size of the reply body every request gets.
    let replyBytes: Int

    /// Starts both proxies with the certificates in `certificates` (a stack's `certs`
    /// directory: ca, public, gateway, vehicles) and returns once both listen; `reply` is the
    /// response body (at most HAProxy's 16 KiB buffer).
    static func start(certificates: String, work: String, reply: [UInt8]) async throws -> TransportFloor {
        guard FileManager.default.isExecutableFile(atPath: haproxy) else {
            throw StackError("\(haproxy) not found (make bench installs haproxy)")
        }
        guard reply.count <= 15_000 else { throw StackError("the floor's reply (\(reply.count) bytes) exceeds HAProxy's buffer") }
        let directory = work + "/floor"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = LocalStack.freePortBase(preferred: 19_240)
        let outerPort = base + 1, innerPort = base + 2

        // HAProxy reads a certificate and its key from one file.
        func bundle(_ name: String) throws -> String {
            let path = "\(directory)/\(name)-bundle.pem"
            let text = try String(contentsOfFile: "\(certificates)/\(name).pem", encoding: .utf8) + "\n"
                + String(contentsOfFile: "\(certificates)/\(name).key", encoding: .utf8)
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw StackError("cannot write \(path)")
            }
            return path
        }
        let ca = "\(certificates)/ca.pem"
        let replyPath = directory + "/reply.json"
        try Data(reply).write(to: URL(fileURLWithPath: replyPath))
        let serverName = ServiceIdentity.vehicles.serverName
        let common = """
            global
              nbthread 2
              maxconn 4096
            defaults
              mode http
              timeout connect 5s
              timeout client 60s
              timeout server 60s
              timeout http-keep-alive 60s

            """
        let innerConfig = common + """
            frontend internal
              bind 127.0.0.1:\(innerPort) ssl crt \(try bundle("vehicles")) ca-file \(ca) verify required ssl-min-ver TLSv1.3
              http-request return status 200 content-type application/json file \(replyPath)

            """
        let outerConfig = common + """
            frontend public
              bind 127.0.0.1:\(outerPort) ssl crt \(try bundle("public"))
              default_backend vehicles
            backend vehicles
              http-reuse always
              server vehicles 127.0.0.1:\(innerPort) ssl ca-file \(ca) crt \(try bundle("gateway")) verify required verifyhost \(serverName) sni str(\(serverName)) ssl-min-ver TLSv1.3

            """
        try innerConfig.write(toFile: directory + "/inner.cfg", atomically: true, encoding: .utf8)
        try outerConfig.write(toFile: directory + "/outer.cfg", atomically: true, encoding: .utf8)
        // -db: stay in the foreground, one process (its threads), so its CPU is one /proc entry.
        let inner = try await ToolProcess.start([haproxy, "-db", "-f", directory + "/inner.cfg"],
                                                outputPath: directory + "/inner.log")
        let outer: BackgroundProcess
        do {
            outer = try await ToolProcess.start([haproxy, "-db", "-f", directory + "/outer.cfg"],
                                                outputPath: directory + "/outer.log")
        } catch {
            await stop(inner)
            throw error
        }
        let floor = TransportFloor(outer: outer, inner: inner, url: "https://127.0.0.1:\(outerPort)", replyBytes: reply.count)
        do {
            try await listening(innerPort, process: inner, log: directory + "/inner.log")
            try await listening(outerPort, process: outer, log: directory + "/outer.log")
        } catch {
            await floor.stop()
            throw error
        }
        return floor
    }

    /// A JSON-RPC response body carrying `result` (the gateway's reply to `vehicles.list`).
    static func envelope(result: RawJSON) -> [UInt8] {
        Array(#"{"jsonrpc":"2.0","result":"#.utf8) + Array(result.description.utf8) + Array(#","id":1}"#.utf8)
    }

    /// Whether `certificates` holds what the floor presents (a local stack's `certs` directory).
    static func hasCertificates(_ certificates: String) -> Bool {
        ["ca.pem", "public.pem", "public.key", "gateway.pem", "gateway.key", "vehicles.pem", "vehicles.key"]
            .allSatisfy { FileManager.default.fileExists(atPath: "\(certificates)/\($0)") }
    }

    /// Returns once something listens on 127.0.0.1:`port` (a bind there fails), or throws when
    /// `process` exits first or 10 s pass.
    private static func listening(_ port: Int, process: BackgroundProcess, log: String) async throws {
        let started = ContinuousClock.now
        while LocalStack.isFree(port) {
            if let status = process.exitStatus { throw StackError("haproxy exited with \(status); see \(log)") }
            guard ContinuousClock.now - started < .seconds(10) else { throw StackError("haproxy did not listen on \(port); see \(log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// CPU ticks (utime + stime, all threads) of each proxy: `outer`, `inner`.
    func cpuTicks() -> [String: Int64] {
        ["outer": BenchProcesses.stat(outer.processIdentifier)?.cpuTicks ?? 0,
         "inner": BenchProcesses.stat(inner.processIdentifier)?.cpuTicks ?? 0]
    }

    func stop() async {
        await Self.stop(outer)
        await Self.stop(inner)
    }

    private static func stop(_ process: BackgroundProcess) async {
        process.send(signal: SIGTERM)
        _ = await process.wait()
    }
}

extension Benchmark {
    /// Starts the floor with the stack's certificates and the gateway's reply for `city`; nil,
    /// with the reason in `results`, when it cannot.
    func startFloor(stack: StackFile, client: PublicClient, city: String, limit: Int, work: String,
                    results: inout BenchResults) async -> TransportFloor? {
        let certificates = URL(fileURLWithPath: stack.ca).deletingLastPathComponent().path
        guard TransportFloor.hasCertificates(certificates) else {
            results.notes.append("Two TLS hops without MovR: not measured (no public, gateway and vehicles certificates beside \(stack.ca)).")
            return nil
        }
        do {
            let reply = try await client.callUnparsed("vehicles.list", VehiclesListParams(limit: limit), city: city)
            let floor = try await TransportFloor.start(certificates: certificates, work: work,
                                                       reply: TransportFloor.envelope(result: reply))
            results.floor = BenchResults.Floor(replyBytes: floor.replyBytes)
            return floor
        } catch {
            results.errors.append("transport floor: \(error)")
            return nil
        }
    }

    /// One wrk run through the floor: throughput and CPU per request of both proxies and wrk.
    func measureFloor(_ floor: TransportFloor, run: Int, wrkScript: String, work: String,
                      results: inout BenchResults) async {
        let before = floor.cpuTicks()
        let clientBefore = BenchProcesses.clientUsage().cpuMicroseconds
        do {
            let sample = try await wrk(script: wrkScript, url: floor.url, log: work + "/wrk-floor.log")
            var cpu = BenchProcesses.microsPerRequest(before: before, after: floor.cpuTicks(), requests: sample.requests)
            cpu["client"] = (BenchProcesses.clientUsage().cpuMicroseconds - clientBefore) / Double(max(1, sample.requests))
            results.floor?.runs.append(sample)
            results.floor?.cpu.append(cpu)
        } catch {
            results.errors.append("transport floor run \(run): \(error)")
        }
    }
}
