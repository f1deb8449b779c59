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
        for region in try Self.locality.regions.map(\.name) {
            for service in ["gateway", "users", "vehicles", "rides"] {
                let name = "\(service)-\(region):"
                #expect(text.contains("  \(name)\n"), "\(file): missing service \(name)")
            }
            let env = try String(contentsOfFile: Self.root + "/compose/env/\(region).env", encoding: .utf8)
            #expect(env.contains("MOVR_REGION=\(region)\n"))
            #expect(try LocalStack.regionEnvironment(region: region, root: Self.root)["MOVR_REGION"] == region)
        }
    }

    static let cockroachRegions = ["us-east1", "us-west1", "europe-west1"]
    static var cockroachNodes: [String] {
        cockroachRegions.flatMap { region in ["a", "b", "c"].map { "roach-\(region)-\($0)" } }
    }

    /// Three database regions of three nodes, each node in its own zone, all in secure mode;
    /// every SQL client verifies the node and presents its own user's client certificate.
    @Test func cockroachFileRunsNineSecureNodes() throws {
        let text = try String(contentsOfFile: Self.root + "/compose/cockroach-multi-region.yml", encoding: .utf8)
        #expect(!text.contains("--insecure") && !text.contains("sslmode=disable"))
        let lines = text.split(separator: "\n").map(String.init)
        let starts = lines.filter { $0.contains("command: start ") }
        #expect(starts.count == 9)
        for node in Self.cockroachNodes {
            #expect(text.contains("  \(node):\n"), "missing node \(node)")
            let region = String(node.dropFirst("roach-".count).dropLast(2)), zone = String(node.suffix(1))
            let start = starts.first { $0.contains("--advertise-addr=\(node):26257") }
            #expect(start?.contains("--certs-dir=/run/movr ") == true, "\(node)")
            #expect(start?.contains("--locality=region=\(region),zone=\(region)-\(zone) ") == true, "\(node)")
        }
        #expect(text.contains("command: init --certs-dir=/run/movr --host=roach-us-east1-a:26257"))
        #expect(text.contains("\"--dialect\", \"cockroach\", \"--regions\", \"us-east1,us-west1,europe-west1\""))
        #expect(text.contains("sslcert=/run/movr/client.root.crt&sslkey=/run/movr/client.root.key"))
        let urls = lines.filter { $0.contains("MOVR_DATABASE_URL:") }
        #expect(urls.count == 12)
        for url in urls {
            let role = try #require(url.split(separator: "//").last?.split(separator: "@").first.map(String.init))
            #expect(url.contains("sslmode=verify-full&sslrootcert=/run/movr/ca.crt&sslcert=/run/movr/client.\(role).crt"
                                 + "&sslkey=/run/movr/client.\(role).key"), "\(url)")
            #expect(Self.cockroachNodes.allSatisfy { url.contains("\($0):26257") }, "\(url)")
        }
    }

    /// `compose/stack.sh cockroach-certs` makes CockroachDB's PKI: every certificate verifies
    /// against its CA, each node's names its service, localhost and 127.0.0.1, and every
    /// container's directory holds its own key only (0600), never the CA key.
    @Test(.enabled(if: geteuid() == 0, "stack.sh hands the files to the containers' uids (CI runs as root)"))
    func cockroachCertificatesVerify() async throws {
        let state = NSTemporaryDirectory() + "movr-roach-pki-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: state) }
        var environment = ProcessInfo.processInfo.environment
        environment["MOVR_COMPOSE_DIR"] = state
        let setup = try await TestProcess.run("/bin/bash", [Self.root + "/compose/stack.sh", "cockroach-certs"],
                                              currentDirectory: Self.root, environment: environment)
        #expect(setup.status == 0, "\(setup.text)")
        func openssl(_ arguments: [String]) async throws -> TestProcess.Output {
            try await TestProcess.run("/usr/bin/openssl", arguments)
        }
        let ca = state + "/cockroach-pki/ca.crt"
        func files(_ container: String) throws -> Set<String> {
            Set(try FileManager.default.contentsOfDirectory(atPath: "\(state)/run/\(container)"))
        }
        func mode(_ path: String) throws -> Int? {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        }
        for node in Self.cockroachNodes {
            let directory = "\(state)/run/\(node)"
            #expect(try files(node) == ["ca.crt", "node.crt", "node.key"])
            #expect(try mode(directory + "/node.key") == 0o600)
            let verify = try await openssl(["verify", "-purpose", "sslserver", "-CAfile", ca, directory + "/node.crt"])
            #expect(verify.status == 0, "\(verify.text)")
            let names = try await openssl(["x509", "-in", directory + "/node.crt", "-noout", "-subject", "-ext", "subjectAltName"])
            #expect(names.text.contains("CN = node"))
            #expect(names.text.contains("DNS:\(node), DNS:localhost, IP Address:127.0.0.1"), "\(names.text)")
            // The key is the certificate's.
            let certificateKey = try await openssl(["x509", "-in", directory + "/node.crt", "-noout", "-pubkey"])
            let privateKey = try await openssl(["pkey", "-in", directory + "/node.key", "-pubout"])
            #expect(certificateKey.text == privateKey.text)
        }
        #expect(try files("roach-init") == ["ca.crt", "client.root.crt", "client.root.key"])
        for user in ["root", "movr_users", "movr_vehicles", "movr_rides"] {
            let certificate = "\(state)/run/migrate/client.\(user).crt"
            let verify = try await openssl(["verify", "-purpose", "sslclient", "-CAfile", ca, certificate])
            #expect(verify.status == 0, "\(verify.text)")
            let subject = try await openssl(["x509", "-in", certificate, "-noout", "-subject"])
            #expect(subject.text.contains("CN = \(user)\n"), "\(subject.text)")
            #expect(try mode("\(state)/run/migrate/client.\(user).key") == 0o600)
        }
        for region in try Self.locality.regions.map(\.name) {
            for service in ["users", "vehicles", "rides"] {
                #expect(try files("\(service)-\(region)") == ["ca.crt", "client.movr_\(service).crt", "client.movr_\(service).key"])
            }
        }
        let everything = FileManager.default.enumerator(atPath: state + "/run")?.allObjects as? [String] ?? []
        #expect(!everything.isEmpty && !everything.contains { $0.hasSuffix("ca.key") })
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
