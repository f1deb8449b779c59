/// The lowest TLS protocol version a context accepts.
public enum TLSVersion: Sendable {
    case tls12
    case tls13
}

/// Which side of the handshake a context is for.
public enum TLSRole: Sendable {
    case server
    case client
}

/// Paths and policy for one TLS context. All files are PEM.
public struct TLSConfiguration: Sendable {
    /// The certificate chain presented to the peer, leaf first.
    public var certificateChainPath: String?
    /// The private key matching the leaf certificate.
    public var privateKeyPath: String?
    /// CA certificates used to verify the peer; `nil` on a client means the system store.
    public var trustRootsPath: String?
    /// Server side: refuse clients without a certificate that verifies against `trustRootsPath`.
    public var requireClientCertificate: Bool
    /// Peers offering only older protocol versions are refused.
    public var minimumVersion: TLSVersion
    /// Whether each connection gives OpenSSL's record buffers (about 17 KB each way) back
    /// whenever nothing is buffered (`SSL_MODE_RELEASE_BUFFERS`), and takes them again for its
    /// next record. Right where many idle clients may hold connections open (the public
    /// listener); between MovR's executables, where pools bound the connections, each record
    /// would pay a large `malloc` and `free` for nothing, so those contexts keep them.
    public var releasesIdleBuffers: Bool
    /// Caps the protocol version; only tests need this, to play an outdated peer.
    var maximumVersion: TLSVersion?

    public init(
        certificateChainPath: String? = nil,
        privateKeyPath: String? = nil,
        trustRootsPath: String? = nil,
        requireClientCertificate: Bool = false,
        minimumVersion: TLSVersion = .tls13,
        releasesIdleBuffers: Bool = true
    ) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.trustRootsPath = trustRootsPath
        self.requireClientCertificate = requireClientCertificate
        self.minimumVersion = minimumVersion
        self.releasesIdleBuffers = releasesIdleBuffers
        self.maximumVersion = nil
    }

    /// The files this configuration reads, for change detection.
    var filePaths: [String] {
        [certificateChainPath, privateKeyPath, trustRootsPath].compactMap { $0 }
    }
}
