import Foundation
import MovRDevTools
import MovRInternalAPI
import MovRService

/// `movr certs`: the deployment CA and one ECDSA P-256 certificate per identity, for development
/// and tests. Production deployments bring their own CA and files of the same names.
public enum CertificateSetup {
    /// Creates what is missing in `directory` (or everything, with `force`). Returns the files written.
    @discardableResult
    /// `postgresNames`, when given, adds `postgres.pem/.key`: a server-only certificate for a
    /// PostgreSQL server reached by those names (and 127.0.0.1), which clients check with
    /// `sslmode=verify-full` (compose's database).
    public static func ensure(directory: String, publicNames: [String] = [], postgresNames: [String] = [],
                              validityDays: Int = 825, force: Bool = false) throws -> [String] {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                        attributes: [.posixPermissions: 0o700])
        let caCert = "\(directory)/ca.pem"
        let caKey = "\(directory)/ca.key"
        var written: [String] = []
        let now = Date()
        let notAfter = now.addingTimeInterval(Double(validityDays) * 86_400)
        let authority: PEMCredential
        if !force, fileManager.fileExists(atPath: caCert), fileManager.fileExists(atPath: caKey) {
            authority = PEMCredential(
                certificatePEM: try String(contentsOfFile: caCert, encoding: .utf8),
                privateKeyPEM: try String(contentsOfFile: caKey, encoding: .utf8))
        } else {
            authority = try CertificateFactory.makeAuthority(
                commonName: "MovR development CA", notBefore: now - 3600,
                notAfter: now.addingTimeInterval(Double(validityDays + 365) * 86_400))
            try CertificateFactory.writeCredential(authority, certificatePath: caCert, keyPath: caKey)
            written.append(caCert)
        }
        // Internal identities are for mutual TLS only; internal clients verify
        // `<identity>.movr.internal`. The gateway's public listener has a certificate of its own,
        // reached as localhost / 127.0.0.1 on a development machine, good for serving only.
        var leaves: [(file: String, commonName: String, dnsNames: [String], addresses: [String], usage: CertificateFactory.Usage)] =
            ServiceIdentity.allCases.map { ($0.rawValue, $0.rawValue, [$0.serverName], [], .serverAndClient) }
        leaves.append((publicFileName, publicCommonName, ["localhost"] + publicNames, ["127.0.0.1", "::1"], .serverOnly))
        if !postgresNames.isEmpty {
            leaves.append(("postgres", "movr-postgres", postgresNames + ["localhost"], ["127.0.0.1"], .serverOnly))
        }
        for leaf in leaves {
            let certificate = "\(directory)/\(leaf.file).pem"
            let key = "\(directory)/\(leaf.file).key"
            if !force, fileManager.fileExists(atPath: certificate), fileManager.fileExists(atPath: key) { continue }
            let credential = try CertificateFactory.issue(
                commonName: leaf.commonName, dnsNames: leaf.dnsNames, ipAddresses: leaf.addresses,
                issuer: authority, usage: leaf.usage, notBefore: now - 3600, notAfter: notAfter)
            try CertificateFactory.writeCredential(credential, certificatePath: certificate, keyPath: key)
            written.append(certificate)
        }
        return written
    }

    /// Files `public.pem` / `public.key`: the gateway's browser-facing HTTPS certificate.
    public static let publicFileName = "public"
    /// Not a service identity: no allow list names it, and its key usage is server-only.
    public static let publicCommonName = "movr-public"
}
