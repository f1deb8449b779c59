import Foundation
import Logging
import MovRAPI
import MovRRPC
import MovRTestSupport
import MovRTool
import Testing

/// The stack every integration test talks to: the real executables started by `movr up` (the
/// same path as `make run`) with real certificates and a private PostgreSQL, or an external
/// deployment named by `MOVR_GATEWAY_URL` (+ `MOVR_STACK_FILE`).
actor LocalStackHarness {
    static let shared = LocalStackHarness()
    /// A second stack with the WAN simulator and standbys, two regions (us-east1 holds the
    /// database, europe-west1 a standby), no demo data: started only by the tests that use it.
    static let wan = LocalStackHarness(name: "wan", portSlotOffset: 97,
                                       arguments: ["--wan", "--replicas", "--regions", "us-east1,europe-west1",
                                                   "--no-demo-data"])

    let name: String
    let portSlotOffset: Int32
    let arguments: [String]

    init(name: String = "", portSlotOffset: Int32 = 0, arguments: [String] = []) {
        self.name = name
        self.portSlotOffset = portSlotOffset
        self.arguments = arguments
    }

    private var starting: Task<StackFile, any Error>?
    private(set) var directory = ""
    private(set) var faultDirectory = ""

    /// Binaries sit next to the test bundle in SwiftPM's build directory.
    static var binaryDirectory: String {
        if let explicit = ProcessInfo.processInfo.environment["MOVR_BIN_DIR"] { return explicit }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    }

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    /// Starts the stack once per test process; every caller (also concurrent ones, which
    /// re-enter this actor while the first start is waiting) gets the same stack.
    func start() async throws -> StackFile {
        if let starting { return try await starting.value }
        let task = Task { try await self.launch() }
        starting = task
        return try await task.value
    }

    private func launch() async throws -> StackFile {
        let environment = ProcessInfo.processInfo.environment
        if name.isEmpty, environment["MOVR_GATEWAY_URL"] != nil, let file = environment["MOVR_STACK_FILE"] {
            return try StackFile.load(file)
        }
        Self.removeStaleDirectories()
        directory = NSTemporaryDirectory() + "movr-it-\(getpid())" + (name.isEmpty ? "" : "-\(name)")
        faultDirectory = directory + "/faults"
        try FileManager.default.createDirectory(atPath: faultDirectory, withIntermediateDirectories: true)
        // A port range unlikely to be in use and below the ephemeral ports: 10000-31800, step
        // 200, from the pid (freePortBase moves on from taken or ephemeral ranges).
        let base = LocalStack.freePortBase(preferred: 10_000 + Int((getpid() + portSlotOffset) % 110) * 200)
        var childEnvironment = environment
        childEnvironment["MOVR_FAULT_DIR"] = faultDirectory
        // The suite signs in hundreds of users at once on a two-core machine: real scrypt, at
        // 2^14 instead of production's 2^17 so the hashing queue's bound is not what the tests
        // measure. AbuseLimitTests runs its own users service at the production cost.
        childEnvironment["MOVR_SCRYPT_LOG2N"] = childEnvironment["MOVR_SCRYPT_LOG2N"] ?? "14"
        let log = directory + "/movr-up.log"
        let process = try await TestProcess.spawn(
            Self.binaryDirectory + "/movr",
            ["up", "--dir", directory, "--port-base", "\(base)", "--exit-with-parent", "--log-level", "info"] + arguments,
            currentDirectory: Self.repositoryRoot, environment: childEnvironment, outputPath: log)
        Self.pidsForExit.withLock { $0.append(process.processIdentifier) }
        atexit {
            // Best effort: the stacks also stop by themselves when this process goes away.
            for pid in LocalStackHarness.pidsForExit.withLock({ $0 }) { kill(pid, SIGTERM) }
        }

        let deadline = Date().addingTimeInterval(600)
        let stackPath = directory + "/stack.json"
        while Date() < deadline {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("Press Ctrl-C to stop.") {
                return try StackFile.load(stackPath)
            }
            if let status = process.exitStatus {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw HarnessError("movr up exited (\(status)):\n\(text.suffix(4000))")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw HarnessError("movr up did not come up within 600 s; see \(log)")
    }

    static let pidsForExit = LockedPIDs()

    /// State directories of earlier test processes that are gone (their stacks stopped with them).
    static func removeStaleDirectories() {
        let temporary = NSTemporaryDirectory()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix("movr-it-") {
            let pidText = name.dropFirst("movr-it-".count).prefix { $0.isNumber }
            guard let pid = Int32(pidText), kill(pid, 0) != 0 else { continue }
            let path = temporary + name
            if !FileManager.default.fileExists(atPath: path + "/pgdata/postmaster.pid") {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// Arms a one-shot fault point in the running executables (test-only; see docs/operations.md).
    func armFault(_ name: String) throws {
        guard FileManager.default.createFile(atPath: faultDirectory + "/" + name, contents: Data()) else {
            throw HarnessError("cannot arm fault \(name) in \(faultDirectory)")
        }
    }

    /// The stack file of the running stack (local or external).
    var stackPath: String {
        ProcessInfo.processInfo.environment["MOVR_STACK_FILE"] ?? directory + "/stack.json"
    }

    /// Runs the `movr` tool; returns its exit status and output.
    nonisolated static func runTool(_ arguments: [String]) async throws -> (Int32, String) {
        let output = try await TestProcess.run(binaryDirectory + "/movr", arguments, currentDirectory: repositoryRoot)
        return (output.status, output.text)
    }

    func logText(_ name: String) -> String {
        (try? String(contentsOfFile: directory + "/logs/\(name).log", encoding: .utf8)) ?? ""
    }
}

/// Pids of the stacks this process started, stopped at exit.
final class LockedPIDs: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var pids: [Int32] = []
    func withLock<R>(_ body: (inout [Int32]) -> R) -> R { lock.withLock { body(&pids) } }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
