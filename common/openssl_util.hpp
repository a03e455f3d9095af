#pragma once
// OpenSSL 3 RAII handles and PEM/time helpers, shared by the gateway and dockgate-certs.
// Everything here is synchronous and thread-agnostic; nothing throws.

#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/x509_name.hpp"

namespace dockgate {

namespace detail {
template <typename T, void (*Free)(T*)>
struct openssl_deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
inline void free_general_names(GENERAL_NAMES* p) {
    GENERAL_NAMES_free(p);
}
} // namespace detail

// x509_ptr lives in common/x509_name.hpp.
using pkey_ptr = std::unique_ptr<EVP_PKEY, detail::openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using pkey_ctx_ptr =
    std::unique_ptr<EVP_PKEY_CTX, detail::openssl_deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using x509_crl_ptr = std::unique_ptr<X509_CRL, detail::openssl_deleter<X509_CRL, X509_CRL_free>>;
using x509_revoked_ptr =
    std::unique_ptr<X509_REVOKED, detail::openssl_deleter<X509_REVOKED, X509_REVOKED_free>>;
using x509_extension_ptr =
    std::unique_ptr<X509_EXTENSION, detail::openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using x509_name_ptr =
    std::unique_ptr<X509_NAME, detail::openssl_deleter<X509_NAME, X509_NAME_free>>;
using x509_store_ptr =
    std::unique_ptr<X509_STORE, detail::openssl_deleter<X509_STORE, X509_STORE_free>>;
using x509_store_ctx_ptr =
    std::unique_ptr<X509_STORE_CTX, detail::openssl_deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using bio_ptr = std::unique_ptr<BIO, detail::openssl_deleter<BIO, BIO_free_all>>;
using bignum_ptr = std::unique_ptr<BIGNUM, detail::openssl_deleter<BIGNUM, BN_free>>;
using asn1_integer_ptr =
    std::unique_ptr<ASN1_INTEGER, detail::openssl_deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using asn1_time_ptr =
    std::unique_ptr<ASN1_TIME, detail::openssl_deleter<ASN1_TIME, ASN1_TIME_free>>;
using asn1_octet_string_ptr =
    std::unique_ptr<ASN1_OCTET_STRING,
                    detail::openssl_deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using general_names_ptr =
    std::unique_ptr<GENERAL_NAMES,
                    detail::openssl_deleter<GENERAL_NAMES, detail::free_general_names>>;

/// Drains OpenSSL's thread-local error queue into one line ("...; ..."), or `fallback` when
/// the queue is empty. Call it right after the failing OpenSSL call.
std::string openssl_error(std::string_view fallback = "unknown OpenSSL error");

/// Every certificate in PEM text, in order. nullopt when the text holds something that is not
/// a certificate or a block does not parse; an empty vector when it holds no PEM block at all.
std::optional<std::vector<x509_ptr>> parse_pem_certificates(std::string_view pem);

/// Every CRL in PEM text, in order; same contract as parse_pem_certificates.
std::optional<std::vector<x509_crl_ptr>> parse_pem_crls(std::string_view pem);

/// PEM text of one certificate / CRL ("-----BEGIN ...-----\n...").
std::string to_pem(X509* cert);
std::string to_pem(X509_CRL* crl);

/// DER bytes of a certificate / CRL, for exact comparisons and for publishing.
std::string to_der(X509* cert);
std::string to_der(X509_CRL* crl);

/// ASN1_TIME (UTCTime or GeneralizedTime) as a system_clock time point; nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> to_time_point(ASN1_TIME const* t);

/// "2025-03-01T12:00:00Z" (UTC, seconds precision).
std::string format_utc(std::chrono::system_clock::time_point t);

/// The inverse of format_utc; nullopt for any other form.
std::optional<std::chrono::system_clock::time_point> parse_utc(std::string_view text);

/// A name as a one-line RFC 2253 string (like subject_line() in x509_name.hpp, for any name).
std::string name_line(X509_NAME const* name);

/// The hex (upper-case, no separators) keyIdentifier of the subject key identifier extension,
/// or "" when absent.
std::string subject_key_id_hex(X509* cert);

} // namespace dockgate
