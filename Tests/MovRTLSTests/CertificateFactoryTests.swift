import COpenSSL
import Foundation
@testable import MovRDevTools
@testable import MovRTLS
import MovRTestSupport
import Testing

struct CertificateFactoryTests {
    @Test func issuedCertificateCarriesNamesAndVerifiesAgainstItsAuthority() throws {
        let authority = try CertificateFactory.makeAuthority(commonName: "MovR CA", notAfter: .now + 86_400)
        let leaf = try CertificateFactory.issue(
            commonName: "rides.movr.internal", dnsNames: ["rides.movr.internal", "rides"],
            ipAddresses: ["127.0.0.1", "::1"], issuer: authority, notAfter: .now + 86_400)
        let other = try CertificateFactory.issue(
            commonName: "rides.movr.internal", dnsNames: [], ipAddresses: [], issuer: authority, notAfter: .now + 86_400)

        #expect(leaf.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(leaf.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let certificate = try OwnedCertificate.parse(pem: leaf.certificatePEM)
        let identity = PeerIdentity(certificate: certificate.pointer)
        #expect(identity.commonName == "rides.movr.internal")
        #expect(identity.dnsNames == ["rides.movr.internal", "rides"])
        #expect(try verifies(leaf, against: authority))
        #expect(try !verifies(leaf, against: CertificateFactory.makeAuthority(commonName: "MovR CA", notAfter: .now + 86_400)))
        #expect(try serial(of: leaf) != serial(of: other))
    }

    @Test func rejectsNamesThatWouldBreakTheExtensionSyntax() throws {
        let authority = try CertificateFactory.makeAuthority(commonName: "MovR CA", notAfter: .now + 86_400)
        #expect(throws: TLSError.self) {
            try CertificateFactory.issue(commonName: "x", dnsNames: ["a,IP:1.2.3.4"], ipAddresses: [], issuer: authority, notAfter: .now + 60)
        }
        #expect(throws: TLSError.self) {
            try CertificateFactory.issue(commonName: "x", dnsNames: [], ipAddresses: ["localhost"], issuer: authority, notAfter: .now + 60)
        }
    }

    @Test func writesKeyFileReadableOnlyByOwner() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let authority = try CertificateFactory.makeAuthority(commonName: "MovR CA", notAfter: .now + 86_400)
        let certificatePath = certificates.path("ca.pem")
        let keyPath = certificates.path("ca.key")
        try CertificateFactory.writeCredential(authority, certificatePath: certificatePath, keyPath: keyPath)

        let keyMode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
        let certificateMode = try FileManager.default.attributesOfItem(atPath: certificatePath)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        #expect(certificateMode == 0o644)
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == authority.privateKeyPEM)
        #expect(try FileManager.default.contentsOfDirectory(atPath: certificates.directory).sorted() == ["ca.key", "ca.pem"])
    }

    @Test func contextsRejectUnusableFiles() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let authority = try certificates.makeAuthority(name: "deployment")
        let first = try certificates.issue(commonName: "users.movr.internal", by: authority)
        let second = try certificates.issue(commonName: "rides.movr.internal", by: authority)

        let mismatched = TLSConfiguration(
            certificateChainPath: first.certificatePath, privateKeyPath: second.keyPath, trustRootsPath: authority.certificatePath)
        #expect { try TLSContext.makeServer(mismatched) } throws: { ($0 as? TLSError)?.code == .configuration }
        let missing = TLSConfiguration(
            certificateChainPath: certificates.path("absent.pem"), privateKeyPath: first.keyPath)
        #expect { try TLSContext.makeServer(missing) } throws: { ($0 as? TLSError)?.code == .configuration }
        let noRoots = TLSConfiguration(
            certificateChainPath: first.certificatePath, privateKeyPath: first.keyPath, requireClientCertificate: true)
        #expect { try TLSContext.makeServer(noRoots) } throws: { ($0 as? TLSError)?.code == .configuration }
        _ = try TLSContext.makeServer(TLSConfiguration(certificate: first, trusting: authority, requireClientCertificate: true))
    }

    private func verifies(_ leaf: PEMCredential, against authority: PEMCredential) throws -> Bool {
        let certificate = try OwnedCertificate.parse(pem: leaf.certificatePEM)
        let root = try OwnedCertificate.parse(pem: authority.certificatePEM)
        let store = try #require(X509_STORE_new())
        defer { X509_STORE_free(store) }
        #expect(X509_STORE_add_cert(store, root.pointer) == 1)
        let context = try #require(X509_STORE_CTX_new())
        defer { X509_STORE_CTX_free(context) }
        #expect(X509_STORE_CTX_init(context, store, certificate.pointer, nil) == 1)
        return X509_verify_cert(context) == 1
    }

    private func serial(of credential: PEMCredential) throws -> [UInt8] {
        let certificate = try OwnedCertificate.parse(pem: credential.certificatePEM)
        let serial = try #require(X509_get0_serialNumber(certificate.pointer))
        let bytes = try #require(ASN1_STRING_get0_data(serial))
        let count = Int(ASN1_STRING_length(serial))
        #expect(count >= 15 && count <= 17)
        return Array(UnsafeBufferPointer(start: bytes, count: count))
    }
}
