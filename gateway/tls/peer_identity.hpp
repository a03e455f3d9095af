#pragma once
// The caller's identity from a verified client certificate.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/ssl.h>

#include "config/config.hpp"
#include "gateway/policy/identity.hpp"

namespace dockgate::tls {

struct tls_peer {
    policy::identity who;                 // groups include [users.NAME].groups
    std::vector<std::string> cert_groups; // the certificate's own O values
};

/// The user a certificate names in `field` (listen.tls.identity): the one subject CN, or the
/// one subject alternative name of that type (a URI, DNS name or email address, whole). nullopt
/// when there is none, more than one (an ambiguous identity is refused), or a value is empty,
/// holds control characters or does not read as UTF-8.
std::optional<std::string>
certificate_user(X509 const* cert,
                 config::tls_identity_field field = config::tls_identity_field::cn);

/// Why certificate_user() finds no user.
enum class identity_problem : unsigned char { none, missing, several, unusable };
identity_problem certificate_user_problem(X509 const* cert, config::tls_identity_field field);

/// For logs: "no URI SAN", "several subject CN values (exactly one names the user)", ...
std::string describe(identity_problem problem, config::tls_identity_field field);

/// The name of `field` as written in the config ("cn", "uri_san", ...).
std::string_view identity_field_name(config::tls_identity_field field) noexcept;

/// After a successful handshake: the identity of the verified peer certificate (see
/// certificate_identity); nullopt when there is no peer certificate or it did not verify.
std::optional<tls_peer> peer_identity(SSL const* ssl, config::config const& cfg,
                                      std::string peer_address);

/// The identity a certificate names: user = certificate_user() of listen.tls.identity (the
/// subject CN when there is no [listen.tls]), groups = the subject's O (or OU, listen.tls.groups)
/// values plus [users.NAME].groups, credential = "serial:<hex>". nullopt when there is no
/// usable user (see certificate_user) or a group value does not read as UTF-8 (an ambiguous
/// identity is refused).
/// Checks nothing else: the caller must have verified the certificate.
std::optional<tls_peer> certificate_identity(X509 const* cert, config::config const& cfg,
                                             std::string peer_address);

} // namespace dockgate::tls
