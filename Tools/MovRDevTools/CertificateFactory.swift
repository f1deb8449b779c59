import COpenSSL
import Foundation
import MovRTLS

/// A certificate and its private key, both PEM.
public struct PEMCredential: Sendable {
    public let certificatePEM: String
    public let privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// Creates a deployment CA and ECDSA P-256 service certificates for development and tests
/// (`movr certs`). Production deployments may bring their own PKI instead.
public enum CertificateFactory {
    /// A self-signed CA certificate (CA:TRUE, keyCertSign) with a fresh P-256 key.
    public static func makeAuthority(commonName: String, notBefore: Date = .now - 3600, notAfter: Date) throws -> PEMCredential {
        let key = try OwnedKey.generateP256()
        let certificate = try OwnedCertificate.make(commonName: commonName, notBefore: notBefore, notAfter: notAfter)
        try certificate.setPublicKey(key)
        try certificate.setIssuerName(from: certificate)
        try certificate.addExtensions([
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_subject_key_identifier, "hash"),
        ], issuer: certificate)
        try certificate.sign(with: key)
        return PEMCredential(certificatePEM: try certificate.pem(), privateKeyPEM: try key.pem())
    }

    /// What a leaf certificate may be used for (its extended key usage).
    public enum Usage: Sendable {
        /// Internal identities: they serve and they call (mutual TLS).
        case serverAndClient
        /// A public listener's certificate: OpenSSL refuses it as a client certificate
        /// ("unsupported certificate purpose"), so a leaked public key cannot call a service.
        case serverOnly

        var extendedKeyUsage: String {
            switch self {
            case .serverAndClient: "serverAuth,clientAuth"
            case .serverOnly: "serverAuth"
            }
        }
    }

    /// A leaf certificate signed by `issuer`, for `usage`, naming `dnsNames` and `ipAddresses`
    /// in its subject alternative names.
    public static func issue(
        commonName: String,
        dnsNames: [String],
        ipAddresses: [String],
        issuer: PEMCredential,
        usage: Usage = .serverAndClient,
        notBefore: Date = .now - 3600,
        notAfter: Date
    ) throws -> PEMCredential {
        // The SAN is built as an OpenSSL config string, where these characters are syntax.
        for name in dnsNames where name.isEmpty || name.contains(where: { $0 == "," || $0 == ":" || $0.isWhitespace }) {
            throw TLSError(code: .generation, message: "invalid DNS name \(name)")
        }
        for address in ipAddresses where !isIPAddress(address) {
            throw TLSError(code: .generation, message: "invalid IP address \(address)")
        }
        let issuerCertificate = try OwnedCertificate.parse(pem: issuer.certificatePEM)
        let issuerKey = try OwnedKey.parse(pem: issuer.privateKeyPEM)
        let key = try OwnedKey.generateP256()
        let certificate = try OwnedCertificate.make(commonName: commonName, notBefore: notBefore, notAfter: notAfter)
        try certificate.setPublicKey(key)
        try certificate.setIssuerName(from: issuerCertificate)
        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, usage.extendedKeyUsage),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        let alternativeNames = dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
        if !alternativeNames.isEmpty {
            extensions.append((NID_subject_alt_name, alternativeNames.joined(separator: ",")))
        }
        try certificate.addExtensions(extensions, issuer: issuerCertificate)
        try certificate.sign(with: issuerKey)
        return PEMCredential(certificatePEM: try certificate.pem(), privateKeyPEM: try key.pem())
    }

    /// Writes the certificate (mode 0644) and key (mode 0600). Each file is replaced atomically,
    /// so a reloading reader never sees half a file.
    public static func writeCredential(_ credential: PEMCredential, certificatePath: String, keyPath: String) throws {
        try writeAtomically(credential.privateKeyPEM, to: keyPath, mode: 0o600)
        try writeAtomically(credential.certificatePEM, to: certificatePath, mode: 0o644)
    }

    private static func writeAtomically(_ text: String, to path: String, mode: mode_t) throws {
        let temporaryPath = path + ".tmp-\(UInt32.random(in: 0...UInt32.max))"
        // Created with the final mode, so a key is never readable by others, not even briefly.
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw TLSError(code: .generation, message: "cannot create \(temporaryPath) (errno \(errno))")
        }
        var bytes = Array(text.utf8)[...]
        var failure: Int32 = 0
        while !bytes.isEmpty, failure == 0 {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno != EINTR { failure = errno }
            } else {
                bytes = bytes.dropFirst(written)
            }
        }
        if failure == 0, fchmod(descriptor, mode) != 0 { failure = errno }
        if close(descriptor) != 0, failure == 0 { failure = errno }
        if failure == 0, rename(temporaryPath, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporaryPath)
            throw TLSError(code: .generation, message: "cannot write \(path) (errno \(failure))")
        }
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}
