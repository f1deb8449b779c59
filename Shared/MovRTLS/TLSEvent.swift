/// Events `TLSHandler` fires inbound as user events.
public enum TLSEvent: Sendable {
    /// The handshake finished and the peer verified; `peer` is nil if it sent no certificate.
    case handshakeCompleted(peer: PeerIdentity?)
}
