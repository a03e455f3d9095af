#pragma once
// Building the certificates dockgate-certs issues: self-signed CAs and the server and client
// leaves below them, with the extensions the gateway and the docker CLI expect.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/openssl_util.hpp"

namespace dockgate::certs {

using time_point = std::chrono::system_clock::time_point;

enum class leaf_kind { server, client };

/// What a leaf certificate says. For a client, `common_name` is the user and `groups` become
/// one O= each (the gateway reads them back that way); a server carries `dns` and `ips` as
/// subjectAltName entries and its first name as CN.
struct leaf_request {
    leaf_kind kind = leaf_kind::client;
    std::string common_name;
    std::vector<std::string> groups;
    std::vector<std::string> dns;
    std::vector<std::string> ips;
    std::vector<std::string> uris; // URI subjectAltName entries (clients: SPIFFE IDs)
    time_point not_before;
    time_point not_after;
};

/// Certificates are valid from a little before "now", so a peer whose clock lags a few minutes
/// behind accepts a certificate issued a moment ago.
inline constexpr std::chrono::minutes clock_skew_allowance{5};

/// A fresh serial: 128 random bits, the top one set (so it is positive, always 32 hex digits,
/// and DER-encodes in 17 bytes, well within RFC 5280's 20).
asn1_integer_ptr random_serial();

/// The serial as dockgate-certs writes it everywhere: upper-case hex, no separators.
std::string serial_text(ASN1_INTEGER const* serial);

/// Canonical form of a serial typed by an admin ("3f:2a..." or "0x3F2A..."), or "" if it is
/// not hex.
std::string normalize_serial(std::string_view text);

/// A self-signed CA: CN=`name`, basicConstraints critical CA:TRUE pathlen:0, keyUsage critical
/// keyCertSign+cRLSign, subject and authority key identifiers.
x509_ptr make_ca_certificate(EVP_PKEY* key, std::string const& name, time_point not_before,
                             time_point not_after);

/// A leaf signed by the CA: basicConstraints critical CA:FALSE, keyUsage critical
/// digitalSignature (+keyEncipherment for RSA), extendedKeyUsage serverAuth or clientAuth,
/// subject and authority key identifiers, and subjectAltName for servers. `request` must have
/// passed the checks below.
x509_ptr make_leaf_certificate(X509* ca_cert, EVP_PKEY* ca_key, EVP_PKEY* leaf_public_key,
                               leaf_request const& request);

/// True if `cert` names `ca` as issuer and carries a valid signature from its key.
bool issued_by(X509* cert, X509* ca);

/// True if `cert` is self-signed with a valid signature.
bool self_signed(X509* cert);

/// Input checks; each returns "" when fine, else why not (for the error message).
std::string check_name_value(std::string_view value);   // a CN or O value
std::string check_dns_name(std::string_view name);      // LDH labels, optional "*." prefix
std::string check_ip_address(std::string_view address); // IPv4 or IPv6 literal

} // namespace dockgate::certs
