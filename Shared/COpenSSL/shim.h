#ifndef MOVR_COPENSSL_SHIM_H
#define MOVR_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/kdf.h>

// Swift does not import function-like macros, nor macros whose value is a cast expression.
// Each wrapper below stands in for exactly one OpenSSL macro.

static inline int movr_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline int movr_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

static inline long movr_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline long movr_SSL_CTX_get_mode(SSL_CTX *ctx) {
    return SSL_CTX_get_mode(ctx);
}

static inline uint64_t movr_SSL_OP_NO_RENEGOTIATION(void) {
    return SSL_OP_NO_RENEGOTIATION;
}

static inline int movr_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline size_t movr_BIO_pending(BIO *bio) {
    return (size_t)BIO_pending(bio);
}

static inline long movr_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

static inline EVP_PKEY *movr_EVP_EC_gen(const char *curve) {
    return EVP_EC_gen(curve);
}

static inline void movr_OPENSSL_free(void *pointer) {
    OPENSSL_free(pointer);
}

static inline int movr_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) {
    return sk_GENERAL_NAME_num(names);
}

static inline const GENERAL_NAME *movr_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}

static inline void movr_X509V3_set_ctx_nodb(X509V3_CTX *ctx) {
    X509V3_set_ctx_nodb(ctx);
}

static inline int movr_MBSTRING_UTF8(void) {
    return MBSTRING_UTF8;
}

#endif
