import COpenSSL
import MovRCrypto

/// One configured OpenSSL `SSL_CTX`, shared by every connection made from it.
///
/// `@unchecked Sendable` is safe because the `SSL_CTX` is fully configured inside the factory
/// methods and never mutated afterwards; OpenSSL documents `SSL_new` and the reference
/// counting it does on a context as thread-safe. Reloading builds a new context instead
/// of changing this one.
public final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer
    let role: TLSRole

    private init(pointer: OpaquePointer, role: TLSRole) {
        self.pointer = pointer
        self.role = role
    }

    /// Whether this context's connections give their record buffers back when idle
    /// (``TLSConfiguration/releasesIdleBuffers``).
    public var releasesIdleBuffers: Bool {
        movr_SSL_CTX_get_mode(pointer) & Int(SSL_MODE_RELEASE_BUFFERS) != 0
    }

    deinit {
        SSL_CTX_free(pointer)
    }

    /// A server context: presents the configured chain; verifies client certificates
    /// against `trustRootsPath` and, with `requireClientCertificate`, demands one.
    public static func makeServer(_ configuration: TLSConfiguration) throws(TLSError) -> TLSContext {
        guard configuration.certificateChainPath != nil, configuration.privateKeyPath != nil else {
            throw TLSError(code: .configuration, message: "a server needs a certificate chain and a private key")
        }
        if configuration.requireClientCertificate && configuration.trustRootsPath == nil {
            throw TLSError(code: .configuration, message: "requiring client certificates needs trust roots")
        }
        let context = try make(configuration, role: .server)
        let mode: Int32
        if configuration.requireClientCertificate {
            mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
        } else if configuration.trustRootsPath != nil {
            mode = SSL_VERIFY_PEER
        } else {
            mode = SSL_VERIFY_NONE
        }
        SSL_CTX_set_verify(context.pointer, mode, nil)
        // Session resumption is not used between MovR services; skipping tickets saves a
        // round of post-handshake messages on every connection.
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_set_num_tickets(context.pointer, 0) == 1 else {
            throw TLSError.fromQueue(.configuration, "cannot disable session tickets")
        }
        return context
    }

    /// A client context: always verifies the server chain (against `trustRootsPath`, or the
    /// system store when it is `nil`) and presents a client certificate when one is configured.
    public static func makeClient(_ configuration: TLSConfiguration) throws(TLSError) -> TLSContext {
        if (configuration.certificateChainPath == nil) != (configuration.privateKeyPath == nil) {
            throw TLSError(code: .configuration, message: "a client certificate needs both chain and key")
        }
        let context = try make(configuration, role: .client)
        SSL_CTX_set_verify(context.pointer, SSL_VERIFY_PEER, nil)
        return context
    }

    /// The TLS 1.2 suites offered or accepted.
    static let tls12Ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
        + "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"

    private static func make(_ configuration: TLSConfiguration, role: TLSRole) throws(TLSError) -> TLSContext {
        // A no-op when the executable did it first, as it should (see OpenSSLLibrary).
        OpenSSLLibrary.initialize()
        OpenSSLErrorQueue.clear()
        guard let pointer = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError.fromQueue(.configuration, "SSL_CTX_new failed")
        }
        // Owned from here on: any throw below frees it through deinit.
        let context = TLSContext(pointer: pointer, role: role)

        OpenSSLErrorQueue.clear()
        guard movr_SSL_CTX_set_min_proto_version(pointer, configuration.minimumVersion.openSSLValue) == 1 else {
            throw TLSError.fromQueue(.configuration, "cannot set the minimum protocol version")
        }
        if let maximum = configuration.maximumVersion {
            OpenSSLErrorQueue.clear()
            guard movr_SSL_CTX_set_max_proto_version(pointer, maximum.openSSLValue) == 1 else {
                throw TLSError.fromQueue(.configuration, "cannot set the maximum protocol version")
            }
        }
        SSL_CTX_set_options(pointer, movr_SSL_OP_NO_RENEGOTIATION())
        if configuration.releasesIdleBuffers {
            _ = movr_SSL_CTX_set_mode(pointer, Int(SSL_MODE_RELEASE_BUFFERS))
        }
        // TLS 1.2 (public listeners only) is limited to forward-secret AEAD suites: no CBC, no
        // SHA-1, no static RSA. TLS 1.3's suites are all AEAD already.
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_set_cipher_list(pointer, TLSContext.tls12Ciphers) == 1 else {
            throw TLSError.fromQueue(.configuration, "cannot set the TLS 1.2 cipher list")
        }

        if let chain = configuration.certificateChainPath, let key = configuration.privateKeyPath {
            OpenSSLErrorQueue.clear()
            guard SSL_CTX_use_certificate_chain_file(pointer, chain) == 1 else {
                throw TLSError.fromQueue(.configuration, "cannot load certificate chain from \(chain)")
            }
            OpenSSLErrorQueue.clear()
            guard SSL_CTX_use_PrivateKey_file(pointer, key, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError.fromQueue(.configuration, "cannot load private key from \(key)")
            }
            OpenSSLErrorQueue.clear()
            guard SSL_CTX_check_private_key(pointer) == 1 else {
                throw TLSError.fromQueue(.configuration, "private key \(key) does not match certificate \(chain)")
            }
        }

        if let roots = configuration.trustRootsPath {
            OpenSSLErrorQueue.clear()
            guard SSL_CTX_load_verify_file(pointer, roots) == 1 else {
                throw TLSError.fromQueue(.configuration, "cannot load trust roots from \(roots)")
            }
            if role == .server {
                // Tells clients which CAs are acceptable so they pick the right certificate.
                OpenSSLErrorQueue.clear()
                guard let names = SSL_load_client_CA_file(roots) else {
                    throw TLSError.fromQueue(.configuration, "cannot read CA names from \(roots)")
                }
                SSL_CTX_set_client_CA_list(pointer, names)
            }
        } else if role == .client {
            OpenSSLErrorQueue.clear()
            guard SSL_CTX_set_default_verify_paths(pointer) == 1 else {
                throw TLSError.fromQueue(.configuration, "cannot load the system trust store")
            }
        }
        return context
    }
}

extension TLSVersion {
    var openSSLValue: Int32 {
        switch self {
        case .tls12: TLS1_2_VERSION
        case .tls13: TLS1_3_VERSION
        }
    }
}
