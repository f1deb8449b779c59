import MovRRPCTransport
import MovRService
import Testing

@Suite struct InternalClientPoolTests {
    /// Clients between executables keep idle connections for less than the internal listener
    /// keeps them open (a reused connection is never one the server is closing), and for longer
    /// than the public client's default, so a short lull does not cost a handshake per connection.
    @Test func idleConnectionsOutliveALullButNotTheServersTimeout() {
        let client = RPCClients.clientConfiguration.idleTimeout
        let server = Duration.nanoseconds(RPCServerConfiguration().idleTimeout.nanoseconds)
        #expect(client < server)
        #expect(server - client >= .seconds(5), "margin for a request written as the server closes")
        #expect(client > RPCClientConfiguration().idleTimeout)
    }
}
