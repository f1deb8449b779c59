import Foundation
import MovRLocality
import MovRPostgres
import MovRTestSupport
@testable import MovRTool
import Testing

/// The deployment descriptions in compose/ and the CockroachDB schema agree with the locality
/// map. Compose files are checked with Debian's docker-compose, which parses without an engine.
@Suite struct DeploymentFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static var locality: Locality {
        get throws { try Locality.load(from: root + "/config/locality.json") }
    }

    static func dockerCompose(_ arguments: [String]) async throws -> (Int32, String) {
        let candidates = ["/usr/bin/docker-compose", "/usr/local/bin/docker-compose"]
        guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return (127, "docker-compose is not installed (make test installs Debian's docker-compose)")
        }
        let output = try await TestProcess.run(executable, arguments, currentDirectory: root)
        return (output.status, output.text)
    }

    @Test(arguments: ["compose/multi-region.yml", "compose/single-region.yml", "compose/cockroach-multi-region.yml"])
    func composeFileParses(_ file: String) async throws {
        let (status, output) = try await Self.dockerCompose(["-f", file, "config"])
        #expect(status == 0, "\(output.suffix(2000))")
    }

    @Test(arguments: ["compose/multi-region.yml", "compose/cockroach-multi-region.yml"])
    func multiRegionFileHasEveryRegion(_ file: String) throws {
        let text = try String(contentsOfFile: Self.root + "/" + file, encoding: .utf8)
        let cockroach = file.contains("cockroach")
        for region in try Self.locality.regions.map(\.name) {
            for service in ["gateway", "users", "vehicles", "rides"] + (cockroach ? ["roach"] : []) {
                let name = "\(service)-\(region):"
                #expect(text.contains("  \(name)\n"), "\(file): missing service \(name)")
            }
            if cockroach { #expect(text.contains("--locality=region=\(region),")) }
            let env = try String(contentsOfFile: Self.root + "/compose/env/\(region).env", encoding: .utf8)
            #expect(env.contains("MOVR_REGION=\(region)\n"))
            #expect(try LocalStack.regionEnvironment(region: region, root: Self.root)["MOVR_REGION"] == region)
        }
    }

    /// The load balancer has a backend per region whose first server is that region's gateway,
    /// with every other region as a backup (a region that is down is routed around).
    @Test func loadBalancerRoutesAroundEveryRegion() throws {
        let config = try String(contentsOfFile: Self.root + "/compose/haproxy.cfg", encoding: .utf8)
        let regions = try Self.locality.regions.map(\.name)
        for region in regions {
            guard let start = config.range(of: "backend gateway-\(region)\n") else {
                Issue.record("no backend for \(region)")
                continue
            }
            let block = String(config[start.upperBound...]).components(separatedBy: "\n\n").first ?? ""
            let servers = block.split(separator: "\n").filter { $0.contains("server ") }
            #expect(servers.first?.contains("gateway-\(region):8443") == true, "\(region): \(servers)")
            #expect(servers.first?.contains("backup") == false)
            #expect(servers.dropFirst().filter { $0.contains("backup") }.count == regions.count - 1, "\(region): \(servers)")
        }
        #expect(config.contains("option httpchk GET /readyz"))
    }

    /// No MovR container mounts anything but its own secrets directory: no shared certs volume
    /// (which would hand every key, and the CA key, to every container).
    @Test(arguments: ["compose/multi-region.yml", "compose/single-region.yml", "compose/cockroach-multi-region.yml"])
    func everyContainerMountsOnlyItsOwnSecrets(_ file: String) throws {
        let text = try String(contentsOfFile: Self.root + "/" + file, encoding: .utf8)
        var service: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  "), !line.hasPrefix("   "), line.hasSuffix(":") {
                service = String(line.dropFirst(2).dropLast())
            }
            guard let service, line.contains(":/run/movr") else { continue }
            #expect(line.contains("}/\(service):/run/movr:ro"), "\(file): \(service) mounts \(line)")
        }
        #expect(!text.contains("ca.key"))
        #expect(!text.contains("movr certs"), "\(file): certificates are made on the host, not in a container")
    }

    @Test func loadBalancerMapMatchesTheCityMap() throws {
        let map = try String(contentsOfFile: Self.root + "/compose/city-region.map", encoding: .utf8)
        var entries: [String: String] = [:]
        for line in map.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { entries[String(parts[0])] = String(parts[1]) }
        }
        let locality = try Self.locality
        #expect(entries.count == locality.cities.count)
        for city in locality.cities {
            #expect(entries[city.name.replacingOccurrences(of: " ", with: "_")] == city.region, "\(city.name)")
        }
    }

    @Test func cockroachSchemaHomesEveryTable() throws {
        let locality = try Self.locality
        for database in OwnedDatabase.allCases {
            let ddl = CockroachSchema.ddl(for: database, locality: locality, survival: .region)
            #expect(ddl.contains("PRIMARY REGION \"us-east1\" REGIONS \"us-central1\", \"us-west1\", \"europe-west1\""))
            #expect(ddl.contains("SURVIVE REGION FAILURE"))
            let tables = database.migrations.flatMap { migration in
                migration.sql.components(separatedBy: "CREATE TABLE ").dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) }
            }
            #expect(!tables.isEmpty)
            for table in tables {
                let homes = [CockroachSchema.regionalTables, CockroachSchema.insertRegionTables, CockroachSchema.globalTables]
                    .filter { $0[database]?.contains(table) == true }.count
                #expect(homes == 1, "\(database.name).\(table) needs exactly one locality")
            }
            for table in CockroachSchema.regionalTables[database] ?? [] {
                #expect(ddl.contains("ALTER TABLE \(table) SET LOCALITY REGIONAL BY ROW AS crdb_region;"))
            }
        }
        // Every city maps to its region in the computed column.
        let expression = CockroachSchema.regionExpression(locality: locality)
        #expect(expression.contains("'new york'") && expression.contains("THEN 'europe-west1'"))
        #expect(CockroachSchema.ddl(for: .rides, locality: locality).contains("ALTER TABLE promo_codes SET LOCALITY GLOBAL;"))
    }
}
