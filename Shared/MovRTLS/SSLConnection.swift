import COpenSSL
import NIOCore

/// The single owner of one `SSL*` and its two memory BIOs.
///
/// Ciphertext from the network is written into `readBIO`; ciphertext OpenSSL produces lands
/// in `writeBIO` and is taken out with `takeOutput`. OpenSSL never touches a socket.
/// Not Sendable: it lives inside one `TLSHandler` on one event loop.
final class SSLConnection {
    let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer

    init(context: TLSContext) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.pointer) else {
            throw TLSError.fromQueue(.configuration, "SSL_new failed")
        }
        guard let readBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.fromQueue(.configuration, "BIO_new failed")
        }
        guard let writeBIO = BIO_new(BIO_s_mem()) else {
            BIO_free(readBIO)
            SSL_free(ssl)
            throw TLSError.fromQueue(.configuration, "BIO_new failed")
        }
        // SSL_set_bio hands both BIOs to the SSL; SSL_free releases them.
        SSL_set_bio(ssl, readBIO, writeBIO)
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        switch context.role {
        case .server: SSL_set_accept_state(ssl)
        case .client: SSL_set_connect_state(ssl)
        }
    }

    deinit {
        SSL_free(ssl)
    }

    /// Sets SNI and the name the server certificate must carry (DNS name or IP address).
    func expectServerName(_ name: String) throws(TLSError) {
        let isIPAddress = Self.isIPAddress(name)
        if !isIPAddress {
            // RFC 6066 forbids IP literals in SNI.
            OpenSSLErrorQueue.clear()
            guard movr_SSL_set_tlsext_host_name(ssl, name) == 1 else {
                throw TLSError.fromQueue(.configuration, "cannot set SNI")
            }
        }
        OpenSSLErrorQueue.clear()
        // OpenSSL 3.0's SSL_set1_host treats an IP literal as an IP address to match.
        guard SSL_set1_host(ssl, name) == 1 else {
            throw TLSError.fromQueue(.configuration, "cannot set the expected server name")
        }
    }

    /// Hands ciphertext received from the network to OpenSSL.
    /// Returns false only if OpenSSL could not allocate room for the bytes.
    func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        OpenSSLErrorQueue.clear()
        var written = 0
        return BIO_write_ex(readBIO, base, bytes.count, &written) == 1 && written == bytes.count
    }

    var pendingOutputCount: Int {
        Int(movr_BIO_pending(writeBIO))
    }

    /// Moves up to `count` bytes of ciphertext OpenSSL produced into `buffer`.
    func takeOutput(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var read = 0
        OpenSSLErrorQueue.clear()
        guard BIO_read_ex(writeBIO, base, buffer.count, &read) == 1 else { return 0 }
        return read
    }

    var peerIdentity: PeerIdentity? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        return PeerIdentity(certificate: certificate)
    }

    /// Why the peer's certificate failed verification, if it did.
    var verificationFailure: String? {
        let result = SSL_get_verify_result(ssl)
        guard result != X509_V_OK else { return nil }
        return String(cString: X509_verify_cert_error_string(result))
    }

    private static func isIPAddress(_ name: String) -> Bool {
        (try? SocketAddress(ipAddress: name, port: 0)) != nil
    }
}
