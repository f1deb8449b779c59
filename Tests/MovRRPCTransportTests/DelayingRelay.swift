import Foundation
import Glibc

/// A TCP relay on 127.0.0.1 in front of a server: each connection it accepts waits `delay`
/// before the relay connects it to the server, then bytes flow both ways unchanged. A client
/// behind it sees an opening (TCP connect and TLS handshake) that takes `delay` longer, with
/// everything else real. Blocking sockets on threads of its own, so nothing it does waits on
/// the event loops under test.
final class DelayingRelay: Sendable {
    let port: Int
    private let listener: Int32

    init(upstreamPort: Int, delay: Duration) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw RelayError.socket(errno) }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else {
            close(listener)
            throw RelayError.socket(errno)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let microseconds = UInt32(min(Int64(UInt32.max / 1000), delay.components.seconds * 1_000_000
                                     + delay.components.attoseconds / 1_000_000_000_000))
        Thread.detachNewThread {
            while true {
                let accepted = accept(listener, nil, nil)
                guard accepted >= 0 else { return }  // the listener was closed
                Thread.detachNewThread {
                    usleep(microseconds)
                    Self.relay(accepted, toPort: upstreamPort)
                }
            }
        }
    }

    /// Stops accepting; relayed connections run until either side closes.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private static func relay(_ client: Int32, toPort port: Int) {
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard upstream >= 0, connected == 0 else {
            if upstream >= 0 { close(upstream) }
            close(client)
            return
        }
        let done = DispatchGroup()
        for (from, to) in [(client, upstream), (upstream, client)] {
            done.enter()
            Thread.detachNewThread {
                pump(from: from, to: to)
                done.leave()
            }
        }
        done.wait()
        close(client)
        close(upstream)
    }

    /// Copies bytes until `from` ends or fails, then ends the other direction's input too.
    private static func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            var sent = 0
            while sent < count {
                let written = buffer.withUnsafeBytes { write(to, $0.baseAddress! + sent, count - sent) }
                guard written > 0 else { break }
                sent += written
            }
            guard sent == count else { break }
        }
        shutdown(to, Int32(SHUT_WR))
        shutdown(from, Int32(SHUT_RD))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    enum RelayError: Error {
        case socket(Int32)
    }
}
