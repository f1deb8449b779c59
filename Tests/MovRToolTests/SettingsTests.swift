import Foundation
import MovRInternalAPI
@testable import MovRService
import MovRServiceDatabase
import MovRTestSupport
@testable import MovRTool
import Testing

/// Each executable's declared settings: unknown keys and wrong types refused by name, defaults
/// applied, and the declarations equal to what docs/operations.md, compose and `movr up` use.
@Suite struct SettingsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let executables: [ServiceIdentity] = [.gateway, .users, .vehicles, .rides]

    static func refusal(environment: [String: String] = [:], arguments: [String] = [],
                        identity: ServiceIdentity) -> String? {
        do {
            _ = try ServiceConfiguration(environment: environment, arguments: arguments,
                                         accepting: ExecutableSettings.accepted(by: identity))
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func unknownEnvironmentVariableIsRefusedByName() {
        let message = Self.refusal(environment: ["MOVR_HASH_THRAEDS": "2", "PATH": "/bin"], identity: .users)
        #expect(message == "unknown environment variable MOVR_HASH_THRAEDS; did you mean MOVR_HASH_THREADS?")
        // Another executable's setting is unknown here, and nothing resembles this one.
        #expect(Self.refusal(environment: ["MOVR_HASH_THREADS": "2"], identity: .gateway)
            == "unknown environment variable MOVR_HASH_THREADS")
        #expect(Self.refusal(environment: ["MOVR_NOTHING_LIKE_IT": "1"], identity: .rides)
            == "unknown environment variable MOVR_NOTHING_LIKE_IT")
    }

    @Test(arguments: ["-1", "257", "1000000"])
    func eventLoopCountsOutsideTheirRangeStopTheStart(value: String) throws {
        let configuration = try ServiceConfiguration(environment: ["MOVR_EVENT_LOOPS": value], arguments: [],
                                                     accepting: SharedSettings.all)
        #expect(throws: ConfigurationError.self) { try ServiceMain.applyEventLoopCount(configuration) }
    }

    @Test(arguments: ["-1", "33"])
    func warmConnectionCountsOutsideTheirRangeStopTheStart(value: String) throws {
        let configuration = try ServiceConfiguration(environment: ["MOVR_WARM_CONNECTIONS": value], arguments: [],
                                                     accepting: SharedSettings.all)
        #expect(throws: ConfigurationError.self) { try ServiceMain.warmConnectionCount(configuration) }
        let accepted = try ServiceConfiguration(environment: ["MOVR_WARM_CONNECTIONS": "32"], arguments: [],
                                                accepting: SharedSettings.all)
        #expect(try ServiceMain.warmConnectionCount(accepted) == 32)
    }

    @Test(arguments: ["0", "-1", "257"])
    func poolSizesOutsideTheirRangeStopTheStart(value: String) throws {
        let configuration = try ServiceConfiguration(environment: ["MOVR_DB_POOL_SIZE": value], arguments: [],
                                                     accepting: DatabaseSettings.primary)
        #expect(throws: ConfigurationError.self) { try DatabaseSettings.poolSize(configuration) }
        let largest = try ServiceConfiguration(environment: ["MOVR_DB_POOL_SIZE": "256"], arguments: [],
                                               accepting: DatabaseSettings.primary)
        #expect(try DatabaseSettings.poolSize(largest) == 256)
        let unset = try ServiceConfiguration(environment: [:], arguments: [], accepting: DatabaseSettings.primary)
        #expect(try DatabaseSettings.poolSize(unset) == 8)
    }

    @Test(arguments: ["-1", "10001", "fast"])
    func spinBudgetsOutsideTheirRangeStopTheStart(value: String) throws {
        #expect(throws: ConfigurationError.self) {
            let configuration = try ServiceConfiguration(environment: ["MOVR_DB_SPIN_US": value], arguments: [],
                                                         accepting: DatabaseSettings.primary)
            _ = try DatabaseSettings.spinMicroseconds(configuration)
        }
        let off = try ServiceConfiguration(environment: ["MOVR_DB_SPIN_US": "0"], arguments: [], accepting: DatabaseSettings.primary)
        #expect(try DatabaseSettings.spinMicroseconds(off) == 0)
        let unset = try ServiceConfiguration(environment: [:], arguments: [], accepting: DatabaseSettings.primary)
        #expect(try DatabaseSettings.spinMicroseconds(unset) == 250)
    }

    @Test func movrUpGivesThePoolSizeToTheDatabaseOwnersOnly() throws {
        for identity in Self.executables {
            let environment = LocalStack.poolEnvironment(identity: identity, dbPoolSize: 2)
            #expect(environment == (identity == .gateway ? [:] : ["MOVR_DB_POOL_SIZE": "2"]), "\(identity)")
            // What each executable accepts: the variable never stops one from starting.
            #expect(Self.refusal(environment: environment, identity: identity) == nil, "\(identity)")
            #expect(LocalStack.poolEnvironment(identity: identity, dbPoolSize: 0).isEmpty)
        }
        #expect(throws: (any Error).self) { try MovRCommand.Up.parse(["--db-pool-size", "257"]) }
        #expect(throws: (any Error).self) { try MovRCommand.Up.parse(["--db-pool-size", "-1"]) }
        #expect(try MovRCommand.Up.parse(["--db-pool-size", "2"]).dbPoolSize == 2)
        #expect(throws: (any Error).self) {
            try MovRCommand.GatewayCommand.parse(["--db-pool-size", "2", "--stack", "/tmp/stack.json"])
        }
    }

    @Test func unknownFlagIsRefusedByName() {
        #expect(Self.refusal(arguments: ["--reconcile-second", "3"], identity: .rides)
            == "unknown flag --reconcile-second; did you mean --reconcile-seconds?")
        #expect(Self.refusal(arguments: ["--migrate=false"], identity: .gateway) == "unknown flag --migrate")
        #expect(Self.refusal(arguments: ["--lisen", "127.0.0.1:1"], identity: .vehicles)
            == "unknown flag --lisen; did you mean --listen?")
    }

    @Test func wrongTypeIsRefusedWithTheKey() {
        #expect(Self.refusal(environment: ["MOVR_DB_POOL_SIZE": "eight"], identity: .vehicles)
            == "environment variable MOVR_DB_POOL_SIZE must be an integer, not 'eight'")
        #expect(Self.refusal(arguments: ["--public-metrics", "maybe"], identity: .gateway)
            == "flag --public-metrics must be true or false, not 'maybe'")
        // A flag overrides the environment, and is what the message names.
        #expect(Self.refusal(environment: ["MOVR_HASH_QUEUE": "1"], arguments: ["--hash-queue=many"], identity: .users)
            == "flag --hash-queue must be an integer, not 'many'")
    }

    @Test func acceptedSettingsAndDefaults() throws {
        let configuration = try ServiceConfiguration(
            environment: ["MOVR_REGION": "us-west1", "MOVR_DB_POOL_SIZE": "", "HOME": "/root"],
            arguments: ["--migrate", "off", "--max-connections=10"],
            accepting: ExecutableSettings.accepted(by: .rides))
        #expect(try configuration.value(SharedSettings.region) == "us-west1")
        #expect(try configuration.value(SharedSettings.maxConnections) == 10)
        #expect(try configuration.value(DatabaseSettings.migrate) == false)
        // Unset or empty: the declared default.
        #expect(try configuration.value(DatabaseSettings.poolSize) == 8)
        #expect(try configuration.value(DatabaseSettings.replicaMaxLagMs) == 2000)
        #expect(try configuration.value(SharedSettings.certReloadSeconds) == 30)
        #expect(try configuration.value(SharedSettings.certsDirectory) == ".movr/certs")
        #expect(try configuration.value(SharedSettings.topology) == nil)
        #expect(throws: ConfigurationError.self) { try configuration.require(DatabaseSettings.databaseURL) }
    }

    @Test func suggestionsAreCloseMatchesOnly() {
        let names = ["hash-threads", "hash-queue", "listen", "session-hours"]
        #expect(SettingDeclaration.closest(to: "hash-thread", in: names) == "hash-threads")
        #expect(SettingDeclaration.closest(to: "hash-queu", in: names) == "hash-queue")
        #expect(SettingDeclaration.closest(to: "session", in: names) == "session-hours")
        #expect(SettingDeclaration.closest(to: "region", in: names) == nil)
        #expect(SettingDeclaration.editDistance(Array("kitten".utf8), Array("sitting".utf8)) == 3)
    }

    @Test func everyExecutableDeclaresEachKeyOnce() {
        for identity in Self.executables {
            let names = ExecutableSettings.accepted(by: identity).map(\.name)
            #expect(Set(names).count == names.count, "\(identity.rawValue) declares a key twice")
        }
    }

    /// The "Configuration" table of docs/operations.md: per executable, the `MOVR_*` variables
    /// of the rows marked for it ("all", or the executable's name) are exactly its declarations.
    @Test func operationsTableMatchesTheDeclarations() throws {
        let text = try String(contentsOfFile: Self.root + "/docs/operations.md", encoding: .utf8)
        let rest = text[try #require(text.range(of: "## Configuration\n")).upperBound...]
        var documented: [ServiceIdentity: Set<String>] = [:]
        var inTable = false
        for line in rest.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("| setting | accepted by |") { inTable = true; continue }
            guard inTable else { continue }
            guard line.hasPrefix("|") else { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count > 3, !cells[1].hasPrefix("---") else { continue }
            let variables = cells[1].split(separator: "`").filter { $0.hasPrefix("MOVR_") }.map(String.init)
            let owners = cells[2] == "all" ? Self.executables
                : cells[2].split(separator: ",").compactMap { ServiceIdentity(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
            for owner in owners { documented[owner, default: []].formUnion(variables) }
        }
        for identity in Self.executables {
            let declared = Set(ExecutableSettings.accepted(by: identity).map(\.environmentName))
            #expect(documented[identity] ?? [] == declared,
                    "\(identity.rawValue): documented only \(((documented[identity] ?? []).subtracting(declared)).sorted()), declared only \(declared.subtracting(documented[identity] ?? []).sorted())")
        }
    }

    /// Every `MOVR_*` variable a compose container gets (image, env file, its own environment)
    /// is one its executable accepts.
    @Test(arguments: ["compose/multi-region.yml", "compose/single-region.yml", "compose/cockroach-multi-region.yml"])
    func composePassesOnlyAcceptedSettings(_ file: String) throws {
        let dockerfile = try String(contentsOfFile: Self.root + "/compose/Dockerfile", encoding: .utf8)
        let imageVariables = Set(Self.variables(in: dockerfile.components(separatedBy: "\nENV ").dropFirst()
            .map { $0.components(separatedBy: "\nUSER")[0] }.joined(separator: " ")))
        let text = try String(contentsOfFile: Self.root + "/" + file, encoding: .utf8)
        var checked = 0
        // Services are the lines indented by two spaces, each followed by its deeper lines.
        var blocks: [String] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("  "), !line.hasPrefix("   ") {
                blocks.append(String(line))
            } else if !blocks.isEmpty, line.hasPrefix("   ") {
                blocks[blocks.count - 1] += "\n" + line
            }
        }
        for block in blocks {
            guard let command = block.range(of: #"command: \["movr-([a-z]+)"\]"#, options: .regularExpression),
                  let identity = ServiceIdentity(rawValue: String(block[command].dropFirst(16).dropLast(2))) else { continue }
            var variables = imageVariables
            for line in block.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("- env/") {
                    let env = try String(contentsOfFile: Self.root + "/compose/" + trimmed.dropFirst(2), encoding: .utf8)
                    variables.formUnion(env.split(separator: "\n").filter { $0.hasPrefix("MOVR_") }
                        .map { String($0.prefix(while: { $0 != "=" })) })
                } else if trimmed.hasPrefix("MOVR_"), let colon = trimmed.firstIndex(of: ":") {
                    variables.insert(String(trimmed[..<colon]))
                }
            }
            let accepted = Set(ExecutableSettings.accepted(by: identity).map(\.environmentName))
            #expect(variables.subtracting(accepted).isEmpty,
                    "\(file): movr-\(identity.rawValue) would refuse \(variables.subtracting(accepted).sorted())")
            checked += 1
        }
        #expect(checked >= 4)
    }

    static func variables(in text: String) -> [String] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\\" })
            .filter { $0.hasPrefix("MOVR_") }.map { String($0.prefix(while: { $0 != "=" })) }
    }

    /// The executables themselves refuse before doing anything, with the message on stderr.
    @Test(arguments: [ServiceIdentity.gateway, .users, .vehicles, .rides])
    func executableRefusesUnknownSetting(_ identity: ServiceIdentity) async throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
            + "/movr-\(identity.rawValue)"
        guard FileManager.default.isExecutableFile(atPath: executable) else { return }
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MOVR_") }
        environment["MOVR_LOG_LEVL"] = "debug"
        let output = try await TestProcess.run(executable, [], environment: environment)
        #expect(output.status == 1)
        #expect(output.text.contains("movr-\(identity.rawValue): unknown environment variable MOVR_LOG_LEVL; did you mean MOVR_LOG_LEVEL?"),
                "\(output.text)")
        environment["MOVR_LOG_LEVL"] = nil
        let flag = try await TestProcess.run(executable, ["--max-connections", "lots"], environment: environment)
        #expect(flag.status == 1)
        #expect(flag.text.contains("flag --max-connections must be an integer, not 'lots'"), "\(flag.text)")
    }
}
