import ArgumentParser
import Foundation

extension MovRCommand {
    /// `movr load`: load generation through the public API of a running stack.
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate MovR load through the public API of a running stack (see docs/load.md).",
            subcommands: [LoadInitCommand.self, LoadRunCommand.self, LoadVerifyCommand.self])
    }
}

/// Options both `load` subcommands take.
struct LoadTarget: ParsableArguments {
    @Option(help: "Stack file of the running stack.")
    var stack = ".movr/stack.json"
    @Option(help: "Comma-separated cities (default: init every city; run the cities of the users file).")
    var cities: String?
    @Option(help: "Users file written by init, read by run (mode 0600).")
    var usersFile = LoadUsersFile.defaultPath

    var cityList: [String]? {
        cities.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }
}

struct LoadInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Register riders and fleet owners, add vehicles, and write the users file for load run.")

    @OptionGroup var target: LoadTarget
    @Option(help: "Vehicles to add per city (spread over the fleet owners).")
    var vehiclesPerCity = 50
    @Option(help: "Riders to register per city.")
    var usersPerCity = 50
    @Option(help: "Fleet owners per city.")
    var fleetOwnersPerCity = 2
    @Option(help: "Requests in flight at once.")
    var concurrency = 16
    @Flag(help: "Start over with a new username prefix instead of completing the users file.")
    var fresh = false

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard vehiclesPerCity >= 0, usersPerCity >= 0, fleetOwnersPerCity >= 1 else {
            throw ValidationError("counts must not be negative, and a city needs a fleet owner")
        }
    }

    func run() async throws {
        var options = LoadSetup.Options()
        options.vehiclesPerCity = vehiclesPerCity
        options.usersPerCity = usersPerCity
        options.fleetOwnersPerCity = fleetOwnersPerCity
        options.cities = target.cityList
        options.concurrency = concurrency
        options.usersFilePath = target.usersFile
        options.fresh = fresh
        let started = ContinuousClock.now
        let summary = try await LoadSetup(stack: try StackFile.load(target.stack), options: options,
                                          logger: MovRCommand.logger()).run()
        let seconds = (ContinuousClock.now - started).inSeconds
        Console.line("load init: \(summary.accounts) accounts and \(summary.vehicles) vehicles ready in "
            + "\(String(format: "%.1f", seconds)) s (prefix \(summary.users.prefix)"
            + (summary.admin.map { ", admin \($0)" } ?? ", no admin") + "); users file \(target.usersFile)")
    }
}

struct LoadRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the MovR mix: closed loop, or open model with --rate; print per-operation latency.")

    @OptionGroup var target: LoadTarget
    @Option(help: "Seconds to run.")
    var duration: Double = 60
    @Option(help: "Closed loop: workers. With --rate: the most requests in flight.")
    var concurrency = 16
    @Option(help: "Open model: total requests per second at fixed intended times (latency counts from them).")
    var rate: Double?
    @Option(help: "Operation weights NAME=WEIGHT,... (default: the MovR mix, see docs/load.md).")
    var mix: String?
    @Option(help: "Write the JSON report here.")
    var json: String?
    @Option(help: "Send every request through this region's gateway (default: each city's own region).")
    var via: String?
    @Flag(help: "Leave rides active at the end instead of ending them.")
    var keepRides = false
    @Option(help: "Append every acknowledged write (ride started/ended, vehicle added, user registered) to this file, for `movr load verify`.")
    var ackLog: String?
    @Option(help: "Write one line per request (send and finish times, operation, outcome) to this file.")
    var timeline: String?

    func validate() throws {
        if let mix {
            do { _ = try LoadMix(parsing: mix) } catch { throw ValidationError(error.description) }
        }
        do { try LoadConfiguration(duration: duration, concurrency: concurrency, rate: rate).validate() } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        var options = MovRWorkload.Options()
        if let mix { options.mix = try LoadMix(parsing: mix) }
        options.cities = target.cityList
        options.via = via
        options.keepRides = keepRides
        options.ackJournal = try ackLog.map { try AckJournal(path: $0) }
        let users = try LoadUsersFile.load(target.usersFile)
        let workload = try await MovRWorkload.prepare(stack: try StackFile.load(target.stack), users: users,
                                                      options: options, concurrency: concurrency,
                                                      logger: MovRCommand.logger())
        var configuration = LoadConfiguration(duration: duration, concurrency: concurrency, rate: rate)
        configuration.mix = workload.mix.description
        configuration.cities = workload.cities.map(\.name)
        for note in workload.notes { Console.error("note: \(note)") }
        let progress = ProgressLine()
        let report = await LoadGenerator.run(configuration, workload: workload,
                                             timeline: try timeline.map { try LoadTimeline(path: $0) }) { tick in
            progress.update(String(format: "%5.0f s  %7.1f ops/s  %d ops  %d errors  %d expected",
                                   tick.elapsed.inSeconds, tick.rate, tick.count, tick.errors, tick.expected))
        }
        progress.finish()
        await workload.shutdown()
        Console.line(report.text)
        if let json {
            try JSONEncoder.snakeCase.encode(report).write(to: URL(fileURLWithPath: json))
            Console.line("report written to \(json)")
        }
    }
}

/// `movr load verify JOURNAL`: every write a `run --ack-log` saw acknowledged is in the databases.
struct LoadVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every acknowledged write of a --ack-log journal is in the databases (exit 2 if one is lost).")

    @Argument(help: "The journal written by `movr load run --ack-log`.")
    var journal: String
    @Option(help: "Stack file (its database_url is used unless --database-url is given).")
    var stack = ".movr/stack.json"
    @Option(help: "Superuser URL of the cluster.")
    var databaseURL: String?

    func run() async throws {
        let url = try databaseURL ?? StackFile.load(stack).databaseURL
        let result = try await AckJournal.verify(path: journal, superuserURL: url, logger: MovRCommand.logger())
        Console.line(result.description)
        if !result.isComplete { throw ExitCode(2) }
    }
}
