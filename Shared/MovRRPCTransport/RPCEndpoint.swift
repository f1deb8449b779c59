import FoundationEssentials

/// Where an ``RPCClient`` connects and which name it expects in the server's certificate.
public struct RPCEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The name verified against the server certificate (and sent as SNI); nil skips the name
    /// check, which only tests of TLS itself should do.
    public var serverName: String?

    public init(host: String, port: Int, serverName: String?) {
        self.host = host
        self.port = port
        self.serverName = serverName
    }

    /// Parses `https://host:port[/rpc]`. The server name defaults to the URL's host.
    public init(url: String, serverName: String? = nil) throws {
        guard let components = URLComponents(string: url), components.scheme == "https",
              let host = components.host, !host.isEmpty else {
            throw RPCEndpointError(url: url)
        }
        self.host = host
        self.port = components.port ?? 443
        self.serverName = serverName ?? host
    }

    public var description: String { "https://\(host):\(port)" }
}

public struct RPCEndpointError: Error, CustomStringConvertible {
    public let url: String
    public var description: String { "not an https URL with a host: \(url)" }
}
