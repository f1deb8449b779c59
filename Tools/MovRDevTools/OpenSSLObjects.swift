import COpenSSL
import Foundation
import MovRTLS

// Single owners for the libcrypto objects certificate generation needs; each frees its
// pointer in exactly one place, its deinit. Used only within one call, never shared.

/// Owns an `EVP_PKEY*`.
final class OwnedKey {
    let pointer: OpaquePointer

    private init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    static func generateP256() throws(TLSError) -> OwnedKey {
        OpenSSLErrorQueue.clear()
        guard let key = movr_EVP_EC_gen("P-256") else {
            throw TLSError.fromQueue(.generation, "cannot generate a P-256 key")
        }
        return OwnedKey(key)
    }

    static func parse(pem: String) throws(TLSError) -> OwnedKey {
        let bio = try OwnedBIO(reading: pem)
        OpenSSLErrorQueue.clear()
        guard let key = PEM_read_bio_PrivateKey(bio.pointer, nil, nil, nil) else {
            throw TLSError.fromQueue(.generation, "cannot parse the issuer private key")
        }
        return OwnedKey(key)
    }

    /// PKCS#8, unencrypted: the files are protected by their mode.
    func pem() throws(TLSError) -> String {
        let bio = try OwnedBIO()
        OpenSSLErrorQueue.clear()
        guard PEM_write_bio_PrivateKey(bio.pointer, pointer, nil, nil, 0, nil, nil) == 1 else {
            throw TLSError.fromQueue(.generation, "cannot encode the private key")
        }
        return bio.contents()
    }
}

/// Owns an `X509*`.
final class OwnedCertificate {
    let pointer: OpaquePointer

    private init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        X509_free(pointer)
    }

    static func parse(pem: String) throws(TLSError) -> OwnedCertificate {
        let bio = try OwnedBIO(reading: pem)
        OpenSSLErrorQueue.clear()
        guard let certificate = PEM_read_bio_X509(bio.pointer, nil, nil, nil) else {
            throw TLSError.fromQueue(.generation, "cannot parse the issuer certificate")
        }
        return OwnedCertificate(certificate)
    }

    /// A v3 certificate with a random 128-bit serial, the subject CN and validity set.
    static func make(commonName: String, notBefore: Date, notAfter: Date) throws(TLSError) -> OwnedCertificate {
        OpenSSLErrorQueue.clear()
        guard let pointer = X509_new() else {
            throw TLSError.fromQueue(.generation, "X509_new failed")
        }
        let certificate = OwnedCertificate(pointer)
        OpenSSLErrorQueue.clear()
        guard X509_set_version(pointer, 2) == 1 else {
            throw TLSError.fromQueue(.generation, "cannot set the certificate version")
        }
        try certificate.setRandomSerial()
        OpenSSLErrorQueue.clear()
        guard ASN1_TIME_set(X509_getm_notBefore(pointer), time_t(notBefore.timeIntervalSince1970)) != nil,
              ASN1_TIME_set(X509_getm_notAfter(pointer), time_t(notAfter.timeIntervalSince1970)) != nil
        else {
            throw TLSError.fromQueue(.generation, "cannot set the validity period")
        }
        OpenSSLErrorQueue.clear()
        guard let subject = X509_get_subject_name(pointer),
              X509_NAME_add_entry_by_txt(subject, "CN", movr_MBSTRING_UTF8(), commonName, -1, -1, 0) == 1
        else {
            throw TLSError.fromQueue(.generation, "cannot set the subject common name")
        }
        return certificate
    }

    private func setRandomSerial() throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let number = BN_new() else {
            throw TLSError.fromQueue(.generation, "BN_new failed")
        }
        defer { BN_free(number) }
        OpenSSLErrorQueue.clear()
        guard BN_rand(number, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1,
              BN_to_ASN1_INTEGER(number, X509_get_serialNumber(pointer)) != nil
        else {
            throw TLSError.fromQueue(.generation, "cannot set a random serial number")
        }
    }

    func setPublicKey(_ key: OwnedKey) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard X509_set_pubkey(pointer, key.pointer) == 1 else {
            throw TLSError.fromQueue(.generation, "cannot set the public key")
        }
    }

    func setIssuerName(from issuer: OwnedCertificate) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard X509_set_issuer_name(pointer, X509_get_subject_name(issuer.pointer)) == 1 else {
            throw TLSError.fromQueue(.generation, "cannot set the issuer name")
        }
    }

    /// Adds extensions given in OpenSSL's config syntax, e.g. `(NID_basic_constraints, "critical,CA:TRUE")`.
    func addExtensions(_ extensions: [(nid: Int32, value: String)], issuer: OwnedCertificate) throws(TLSError) {
        var context = X509V3_CTX()
        movr_X509V3_set_ctx_nodb(&context)
        X509V3_set_ctx(&context, issuer.pointer, pointer, nil, nil, 0)
        for (nid, value) in extensions {
            OpenSSLErrorQueue.clear()
            guard let fileExtension = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw TLSError.fromQueue(.generation, "cannot build extension \(nid)")
            }
            defer { X509_EXTENSION_free(fileExtension) }
            OpenSSLErrorQueue.clear()
            guard X509_add_ext(pointer, fileExtension, -1) == 1 else {
                throw TLSError.fromQueue(.generation, "cannot add extension \(nid)")
            }
        }
    }

    func sign(with key: OwnedKey) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard X509_sign(pointer, key.pointer, EVP_sha256()) > 0 else {
            throw TLSError.fromQueue(.generation, "cannot sign the certificate")
        }
    }

    func pem() throws(TLSError) -> String {
        let bio = try OwnedBIO()
        OpenSSLErrorQueue.clear()
        guard PEM_write_bio_X509(bio.pointer, pointer) == 1 else {
            throw TLSError.fromQueue(.generation, "cannot encode the certificate")
        }
        return bio.contents()
    }
}

/// Owns a memory `BIO*` used to move PEM text in and out of libcrypto.
final class OwnedBIO {
    let pointer: OpaquePointer
    /// `BIO_new_mem_buf` does not copy; the bytes must outlive the BIO.
    private let input: UnsafeMutableBufferPointer<CChar>?

    init() throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let pointer = BIO_new(BIO_s_mem()) else {
            throw TLSError.fromQueue(.generation, "BIO_new failed")
        }
        self.pointer = pointer
        self.input = nil
    }

    init(reading text: String) throws(TLSError) {
        let bytes = Array(text.utf8CString)
        let input = UnsafeMutableBufferPointer<CChar>.allocate(capacity: bytes.count)
        _ = input.initialize(from: bytes)
        OpenSSLErrorQueue.clear()
        guard let pointer = BIO_new_mem_buf(input.baseAddress, Int32(bytes.count - 1)) else {
            input.deallocate()
            throw TLSError.fromQueue(.generation, "BIO_new_mem_buf failed")
        }
        self.pointer = pointer
        self.input = input
    }

    deinit {
        BIO_free(pointer)
        input?.deallocate()
    }

    func contents() -> String {
        var data: UnsafeMutablePointer<CChar>?
        let count = movr_BIO_get_mem_data(pointer, &data)
        guard count > 0, let data else { return "" }
        return data.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }
}
