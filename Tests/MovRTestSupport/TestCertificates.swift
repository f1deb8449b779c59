import Foundation
import MovRDevTools
import MovRTLS

/// A temporary directory holding generated CAs and certificates for tests.
///
/// Every file is real PEM written by `CertificateFactory`, so tests exercise the same files a
/// deployment uses. Call `remove()` (or use `withTestCertificates`) when done.
public struct TestCertificates: Sendable {
    /// A CA: its credential (to issue more) and the path of its certificate (to trust it).
    public struct Authority: Sendable {
        public let credential: PEMCredential
        public let certificatePath: String
    }

    /// An issued certificate written to disk.
    public struct Certificate: Sendable {
        public let credential: PEMCredential
        public let certificatePath: String
        public let keyPath: String
    }

    public let directory: String

    /// Creates a fresh, private temporary directory.
    public init() throws {
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("movr-tls-XXXXXX").path
        var bytes = Array(template.utf8CString)
        guard let created = mkdtemp(&bytes) else {
            throw CocoaError(.fileWriteUnknown)
        }
        directory = String(cString: created)
    }

    public func path(_ name: String) -> String {
        directory + "/" + name
    }

    /// Writes a new CA as `<name>-ca.pem` (its key stays in memory only).
    public func makeAuthority(name: String, commonName: String? = nil, notAfter: Date = .now + 86_400) throws -> Authority {
        let credential = try CertificateFactory.makeAuthority(commonName: commonName ?? "\(name) test CA", notAfter: notAfter)
        let certificatePath = path("\(name)-ca.pem")
        try Data(credential.certificatePEM.utf8).write(to: URL(fileURLWithPath: certificatePath))
        return Authority(credential: credential, certificatePath: certificatePath)
    }

    /// Issues a certificate for `commonName` (also its DNS name unless `dnsNames` is given)
    /// and 127.0.0.1, written as `<file>.pem` / `<file>.key`.
    public func issue(
        commonName: String,
        dnsNames: [String]? = nil,
        ipAddresses: [String] = ["127.0.0.1"],
        by authority: Authority,
        file: String? = nil,
        notBefore: Date = .now - 3600,
        notAfter: Date = .now + 86_400
    ) throws -> Certificate {
        let credential = try CertificateFactory.issue(
            commonName: commonName,
            dnsNames: dnsNames ?? [commonName],
            ipAddresses: ipAddresses,
            issuer: authority.credential,
            notBefore: notBefore,
            notAfter: notAfter
        )
        let stem = path(file ?? commonName)
        try CertificateFactory.writeCredential(credential, certificatePath: stem + ".pem", keyPath: stem + ".key")
        return Certificate(credential: credential, certificatePath: stem + ".pem", keyPath: stem + ".key")
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension TLSConfiguration {
    /// A configuration presenting `certificate` and trusting `authority`.
    public init(certificate: TestCertificates.Certificate?, trusting authority: TestCertificates.Authority?, requireClientCertificate: Bool = false) {
        self.init(
            certificateChainPath: certificate?.certificatePath,
            privateKeyPath: certificate?.keyPath,
            trustRootsPath: authority?.certificatePath,
            requireClientCertificate: requireClientCertificate
        )
    }
}

/// Runs `body` with a fresh certificate directory and removes it afterwards.
public func withTestCertificates<Result>(_ body: (TestCertificates) async throws -> Result) async throws -> Result {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    return try await body(certificates)
}
