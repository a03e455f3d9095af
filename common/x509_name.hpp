#pragma once
// Reading identities out of X.509 subjects, shared by the gateway and dockgate-certs.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/x509.h>

namespace dockgate {

struct x509_deleter {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

/// Every value of attribute `nid` (e.g. NID_commonName, NID_organizationName) in the subject,
/// in order, as UTF-8. nullopt when any of them cannot be converted to UTF-8: skipping it would
/// make a subject with an unreadable CN and a readable one read as the readable one alone.
std::optional<std::vector<std::string>> subject_values(X509 const* cert, int nid);

/// The subject as a one-line RFC 2253 string, for logs.
std::string subject_line(X509 const* cert);

/// The serial number as upper-case hex.
std::string serial_hex(X509 const* cert);

} // namespace dockgate
