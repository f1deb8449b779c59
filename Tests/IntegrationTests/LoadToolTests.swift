import Foundation
import MovRTool
import Testing

/// `movr load init` and `movr load run` (the built binary) against the running stack. Cities no
/// other test counts vehicles in, so the rides of the load cannot disturb them.
@Suite struct LoadToolTests {
    static let cities = "washington dc,minneapolis"

    @Test func initThenRunMakesRideCyclesWithoutErrors() async throws {
        let domain = try await Domain.connect()
        let stackPath = await LocalStackHarness.shared.stackPath
        let work = NSTemporaryDirectory() + "movr-load-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let usersFile = work + "/load-users.json"

        let (initStatus, initOutput) = try await LocalStackHarness.runTool(
            ["load", "init", "--stack", stackPath, "--users-file", usersFile, "--cities", Self.cities,
             "--vehicles-per-city", "3", "--users-per-city", "3", "--concurrency", "8"])
        #expect(initStatus == 0, "\(initOutput)")
        let users = try LoadUsersFile.load(usersFile)
        #expect(users.accounts.filter { $0.role == .rider }.count == 6)
        #expect(users.accounts.contains { $0.role == .admin })
        let mode = try FileManager.default.attributesOfItem(atPath: usersFile)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the users file holds a password")

        // Init again with the same file: nothing new, nothing fails.
        let (againStatus, againOutput) = try await LocalStackHarness.runTool(
            ["load", "init", "--stack", stackPath, "--users-file", usersFile, "--cities", Self.cities,
             "--vehicles-per-city", "3", "--users-per-city", "3"])
        #expect(againStatus == 0, "\(againOutput)")
        #expect(try LoadUsersFile.load(usersFile).accounts.count == users.accounts.count)

        // A ride-heavy mix so a short run surely starts and ends rides, with room for a busy
        // machine (each worker signs in first, one scrypt each).
        let reportPath = work + "/report.json"
        let timelinePath = work + "/timeline"
        let mix = "vehicles.list=20,vehicles.get=10,rides.list=10,promo_codes.list=5,users.me=10,rides.start=15,"
            + "rides.update_location=10,rides.end=15,promo_codes.apply=3,promo_codes.create=1,vehicles.add=1,users.register=1"
        let (runStatus, runOutput) = try await LocalStackHarness.runTool(
            ["load", "run", "--stack", stackPath, "--users-file", usersFile, "--duration", "6", "--concurrency", "4",
             "--mix", mix, "--json", reportPath, "--timeline", timelinePath])
        #expect(runStatus == 0, "\(runOutput)")
        #expect(runOutput.contains("rides.start") && runOutput.contains("p99.9"), "\(runOutput)")

        // Each listing that succeeded says how long the gateway took and how long its call to
        // the city's vehicles service took, and the call fits in the gateway's time.
        let timeline = try String(contentsOfFile: timelinePath, encoding: .utf8)
        let lines: [[Substring]] = timeline.split(separator: "\n").map { $0.split(separator: " ") }
        let listings = lines.filter { $0.count >= 4 && $0[2] == "vehicles.list" && $0[3] == "ok" }
        #expect(!listings.isEmpty, "\(timeline.prefix(2000))")
        for fields in listings {
            var timings: [String: Double] = [:]
            for field in fields.dropFirst(4) {
                let parts = field.split(separator: "=")
                if parts.count == 2, let value = Double(parts[1]) { timings[String(parts[0])] = value }
            }
            let call = timings.first { ($0.key.hasPrefix("local:") || $0.key.hasPrefix("remote:")) && $0.key.hasSuffix("/vehicles.list") }
            #expect(timings["gateway"] != nil && call != nil, "\(fields)")
            if let total = timings["gateway"], let call { #expect(call.value <= total + 0.1, "\(fields)") }
        }

        let data = try #require(FileManager.default.contents(atPath: reportPath))
        let report = try JSONDecoder.loadReport.decode(LoadReport.self, from: data)
        #expect(report.configuration.concurrency == 4 && report.configuration.rate == nil)
        #expect(report.configuration.cities == ["washington dc", "minneapolis"])
        #expect(report.totals.count > 20, "\(report.text)")
        let kinds = report.operations.filter { $0.count > 0 }.map(\.operation)
        #expect(kinds.count >= 6, "\(kinds)")
        let starts = report.operation(.ridesStart).map { $0.count - $0.errors - $0.expected } ?? 0
        let ends = report.operation(.ridesEnd).map { $0.count - $0.errors } ?? 0
        #expect(starts > 0 && ends > 0, "rides must start and end: \(report.text)")
        #expect(report.errors.isEmpty, "only expected domain outcomes: \(report.text)")
        #expect(report.totals.errors == 0)
        #expect(report.outcomes.allSatisfy { !$0.expected || ["409 vehicle_unavailable", "429 too_many_attempts", "503 overloaded"].contains($0.kind) },
                "\(report.outcomes)")
        for stats in report.operations where stats.count > 0 {
            #expect(stats.p50Ms > 0 && stats.p50Ms <= stats.p99Ms && stats.p99Ms <= stats.maxMs, "\(stats)")
        }

        // A list-only mix in the open model: replies checked, not decoded; every one a result.
        let listPath = work + "/list.json"
        let (listStatus, listOutput) = try await LocalStackHarness.runTool(
            ["load", "run", "--stack", stackPath, "--users-file", usersFile, "--duration", "2", "--concurrency", "4",
             "--rate", "50", "--mix", "vehicles.list=1", "--json", listPath])
        #expect(listStatus == 0, "\(listOutput)")
        let listReport = try JSONDecoder.loadReport.decode(LoadReport.self,
                                                           from: try #require(FileManager.default.contents(atPath: listPath)))
        let lists = try #require(listReport.operation(.vehiclesList))
        #expect(lists.count > 50 && lists.errors == 0 && listReport.totals.count == lists.count, "\(listReport.text)")

        try await domain.expectInvariants()
        await domain.shutdown()
    }

    @Test func runRefusesABadMixBeforeSendingAnything() async throws {
        let (status, output) = try await LocalStackHarness.runTool(["load", "run", "--mix", "rides.sart=5"])
        #expect(status != 0)
        #expect(output.contains("unknown operation 'rides.sart'"), "\(output)")
    }
}

extension JSONDecoder {
    /// Reads the snake_case JSON of `movr load run --json`.
    static var loadReport: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
