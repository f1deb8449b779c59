import Foundation
import MovRService
import MovRTLS

/// `movr certs`: the deployment CA and one ECDSA P-256 certificate per identity, for development
/// and tests. Production deployments bring their own CA and files of the same names.
public enum CertificateSetup {
    /// Creates what is missing in `directory` (or everything, with `force`). Returns the files written.
    @discardableResult
    public static func ensure(directory: String, validityDays: Int = 825, force: Bool = false) throws -> [String] {
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
        for identity in ServiceIdentity.allCases {
            let certificate = "\(directory)/\(identity.rawValue).pem"
            let key = "\(directory)/\(identity.rawValue).key"
            if !force, fileManager.fileExists(atPath: certificate), fileManager.fileExists(atPath: key) { continue }
            // Internal clients verify `<identity>.movr.internal`; the gateway's public listener is
            // also reached as localhost / 127.0.0.1 on a development machine.
            var dnsNames = [identity.serverName]
            var addresses: [String] = []
            if identity == .gateway {
                dnsNames += ["localhost"]
                addresses += ["127.0.0.1", "::1"]
            }
            let credential = try CertificateFactory.issue(
                commonName: identity.rawValue, dnsNames: dnsNames, ipAddresses: addresses,
                issuer: authority, notBefore: now - 3600, notAfter: notAfter)
            try CertificateFactory.writeCredential(credential, certificatePath: certificate, keyPath: key)
            written.append(certificate)
        }
        return written
    }
}
