import Foundation

/// What the kernel says about this machine's TCP sockets (`/proc/net/tcp`, `/proc/net/tcp6`):
/// for tests that check socket options by their effect, e.g. that a keepalive timer is armed.
public enum LoopbackSockets {
    public struct Entry: Sendable, Equatable {
        public var localPort: Int
        public var remotePort: Int
        /// Kernel TCP state: 1 is ESTABLISHED.
        public var state: Int
        /// The active timer: 0 none, 1 retransmission, 2 keepalive, 3 TIME_WAIT, 4 window probe.
        public var timer: Int
        /// When it fires, in clock ticks (1/100 s) from now.
        public var timerTicks: Int
        /// The socket's inode: what tells one socket from another.
        public var inode: Int
    }

    /// Established sockets whose peer is `remotePort` (the client ends of connections to a
    /// server listening there).
    public static func established(toPort remotePort: Int) -> [Entry] {
        established(tables: ["/proc/net/tcp", "/proc/net/tcp6"]).filter { $0.remotePort == remotePort }
    }

    /// Established sockets of the connection tables at `paths` (`/proc/net/tcp`, or a process's
    /// own `/proc/PID/net/tcp`), each once.
    public static func established(tables paths: [String]) -> [Entry] {
        paths.flatMap { path -> [Entry] in
            // Read to the end: `String(contentsOfFile:)` stops after the first read of a /proc
            // file (about 4 KB of /proc/net/tcp, which is often longer).
            let data = FileHandle(forReadingAtPath: path).map { handle in
                defer { try? handle.close() }
                return (try? handle.readToEnd()) ?? Data()
            } ?? Data()
            return entries(in: String(decoding: data, as: UTF8.self))
        }.filter { $0.state == 1 }
    }

    /// The sockets a `/proc/net/tcp` listing names, each once. The kernel writes the listing a
    /// read at a time and resumes by position, so sockets opened or closed between two reads (by
    /// other tests, say) can make it list a socket twice; the first line of each socket is kept.
    public static func entries(in listing: String) -> [Entry] {
        var seen = Set<[Int]>()
        return listing.split(separator: "\n").dropFirst().compactMap(parse).filter { entry in
            seen.insert([entry.localPort, entry.remotePort, entry.inode]).inserted
        }
    }

    /// One line: `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`, hex fields.
    static func parse(_ line: Substring) -> Entry? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 10 else { return nil }
        func port(_ address: Substring) -> Int? {
            address.split(separator: ":").last.flatMap { Int($0, radix: 16) }
        }
        let timer = fields[5].split(separator: ":")
        guard let local = port(fields[1]), let remote = port(fields[2]), let state = Int(fields[3], radix: 16),
              timer.count == 2, let type = Int(timer[0], radix: 16), let ticks = Int(timer[1], radix: 16),
              let inode = Int(fields[9])
        else { return nil }
        return Entry(localPort: local, remotePort: remote, state: state, timer: type, timerTicks: ticks, inode: inode)
    }
}

/// A packet filter rule that drops every loopback packet to or from one port, as if the peer
/// there had vanished with its network (no reset, no answer to anything). Root and `iptables`
/// only; ``isAvailable()`` says whether this machine can. Rules carry a comment naming the test
/// process; ``remove()`` deletes them.
public struct LoopbackBlackhole: Sendable {
    public let port: Int
    static let iptables = "/usr/sbin/iptables"

    public static func isAvailable() async -> Bool {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: iptables) else { return false }
        return (try? await TestProcess.run(iptables, ["-w", "-S", "INPUT"]))?.status == 0
    }

    var rules: [[String]] {
        ["--dport", "--sport"].map { direction in
            ["INPUT", "-i", "lo", "-p", "tcp", direction, "\(port)", "-m", "comment", "--comment",
             "movr-test-\(getpid())", "-j", "DROP"]
        }
    }

    public static func drop(port: Int) async throws -> LoopbackBlackhole {
        await removeStale()
        let blackhole = LoopbackBlackhole(port: port)
        for rule in blackhole.rules {
            let result = try await TestProcess.run(iptables, ["-w", "-I"] + rule)
            guard result.status == 0 else {
                await blackhole.remove()
                throw BlackholeError(message: "iptables -I failed: \(result.text)")
            }
        }
        return blackhole
    }

    /// Deletes the rules of test processes that are gone (killed before their `remove()`).
    static func removeStale() async {
        guard let listing = try? await TestProcess.run(iptables, ["-w", "-S", "INPUT"]) else { return }
        for line in listing.text.split(separator: "\n") where line.hasPrefix("-A INPUT ") {
            guard let marker = line.range(of: "--comment movr-test-") else { continue }
            let digits = line[marker.upperBound...].prefix { $0.isNumber }
            guard let pid = pid_t(digits), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let rule = line.dropFirst("-A ".count).split(separator: " ").map(String.init)
            _ = try? await TestProcess.run(iptables, ["-w", "-D"] + rule)
        }
    }

    public func remove() async {
        for rule in rules { _ = try? await TestProcess.run(Self.iptables, ["-w", "-D"] + rule) }
    }

    public struct BlackholeError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
