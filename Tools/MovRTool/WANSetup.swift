import Foundation
import MovRInternalAPI
import MovRLocality
import MovRService
import MovRWAN

/// One simulated wide-area link of the local stack: callers in `from` reach `target` of region
/// `to` through a proxy on `listenPort` that delays each direction by half the pair's RTT.
public struct WANLink: Sendable, Hashable {
    public var from: String
    public var to: String
    /// `users`, `vehicles`, `rides` or `postgres` (the database primary).
    public var target: String
    public var listenPort: Int
    public var upstreamPort: Int
    public var rttMs: Int
    public var estimate: Bool

    public var name: String { "\(from) -> \(to) \(target)" }

    public func profile(jitterMs: Int, loss: Double) -> WANLinkProfile {
        // Half the RTT per direction, in microseconds so an odd RTT keeps its half millisecond.
        WANLinkProfile(oneWay: .microseconds(rttMs * 500), jitter: .milliseconds(jitterMs), loss: loss)
    }

    var json: [String: Any] {
        ["from": from, "to": to, "target": target, "listen": "127.0.0.1:\(listenPort)",
         "upstream": "127.0.0.1:\(upstreamPort)", "rtt_ms": rttMs, "one_way_ms": Double(rttMs) / 2,
         "rtt_is_estimate": estimate]
    }
}

/// Which links `movr up --wan` puts a proxy on, and what each region then dials.
public enum WANPlan {
    public static let services: [ServiceIdentity] = [.users, .vehicles, .rides]

    /// A link per (caller region, other region, service) and per non-primary region to the
    /// database primary. Gateways are never a target: nothing calls another region's gateway.
    /// Ports are taken from `firstPort` up, at most `portCount` of them.
    ///
    /// `includeLocal` (`movr up --fault-proxies`) also puts a proxy, without delay, on every link
    /// inside a region (gateway and services to their own region's services, and the database
    /// region's services to the database), so every connection between the executables, and to
    /// PostgreSQL, passes a proxy that can reset it.
    public static func links(locality: Locality, regions: [String], endpoints: [String: Topology.RegionEndpoints],
                             databaseRegion: String, postgresPort: Int, firstPort: Int,
                             portCount: Int, includeLocal: Bool = false) throws -> [WANLink] {
        var links: [WANLink] = []
        var next = firstPort
        func add(from: String, to: String, target: String, upstream: Int) throws {
            guard next < firstPort + portCount else {
                throw StackError("the WAN simulator needs more than \(portCount) ports; start fewer regions")
            }
            let latency = from == to ? (ms: 0, estimate: false) : try locality.latency(from: from, to: to)
            links.append(WANLink(from: from, to: to, target: target, listenPort: next, upstreamPort: upstream,
                                 rttMs: latency.ms, estimate: latency.estimate))
            next += 1
        }
        for from in regions {
            for to in regions where to != from || includeLocal {
                for service in services {
                    guard let url = endpoints[to]?.url(of: service), let port = URLComponents(string: url)?.port else {
                        throw StackError("no \(service.rawValue) endpoint for \(to)")
                    }
                    try add(from: from, to: to, target: service.rawValue, upstream: port)
                }
            }
            if from != databaseRegion || includeLocal {
                try add(from: from, to: databaseRegion, target: "postgres", upstream: postgresPort)
            }
        }
        return links
    }

    /// What executables of `region` dial: their own region directly, every other region through
    /// the proxy of the link from `region`.
    public static func topology(for region: String, endpoints: [String: Topology.RegionEndpoints],
                                links: [WANLink]) -> Topology {
        var view = endpoints
        for link in links where link.from == region && link.target != "postgres" {
            let url = "https://127.0.0.1:\(link.listenPort)"
            switch link.target {
            case "users": view[link.to]?.users = url
            case "vehicles": view[link.to]?.vehicles = url
            case "rides": view[link.to]?.rides = url
            default: break
            }
        }
        return Topology(regions: view)
    }

    /// The port executables of `region` use for the database primary (nil: it is local).
    public static func databasePort(for region: String, links: [WANLink]) -> Int? {
        links.first { $0.from == region && $0.target == "postgres" }?.listenPort
    }

    /// `postgresql://user@127.0.0.1:<port>/db` with another port.
    static func replacingPort(of url: String, with port: Int) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.port = port
        return components.string ?? url
    }
}
