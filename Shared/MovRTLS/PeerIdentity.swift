import COpenSSL

/// Who is on the other end, as named by its verified certificate.
public struct PeerIdentity: Sendable, Hashable {
    /// The subject common name.
    public let commonName: String?
    /// The subject alternative DNS names.
    public let dnsNames: [String]

    /// The MovR service identity: the subject common name of the deployment certificate.
    public var serviceName: String? { commonName }

    public init(commonName: String?, dnsNames: [String]) {
        self.commonName = commonName
        self.dnsNames = dnsNames
    }

    /// Reads the names from a certificate the caller keeps alive.
    init(certificate: OpaquePointer) {
        self.init(commonName: Self.commonName(of: certificate), dnsNames: Self.dnsNames(of: certificate))
    }

    private static func commonName(of certificate: OpaquePointer) -> String? {
        guard let subject = X509_get_subject_name(certificate) else { return nil }
        let index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
        guard index >= 0,
              let entry = X509_NAME_get_entry(subject, index),
              let data = X509_NAME_ENTRY_get_data(entry)
        else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else { return nil }
        defer { movr_OPENSSL_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    private static func dnsNames(of certificate: OpaquePointer) -> [String] {
        guard let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var result: [String] = []
        for index in 0..<movr_sk_GENERAL_NAME_num(names) {
            guard let name = movr_sk_GENERAL_NAME_value(names, index),
                  name.pointee.type == GEN_DNS,
                  let ia5 = name.pointee.d.dNSName,
                  let bytes = ASN1_STRING_get0_data(ia5)
            else { continue }
            let count = Int(ASN1_STRING_length(ia5))
            result.append(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
        }
        return result
    }
}
