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
/// when there is none, more than one (an ambiguous identity is refused), or the value is empty
/// or holds control characters.
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

/// After a successful handshake: user = certificate_user() of listen.tls.identity, groups =
/// the subject's O (or OU, listen.tls.groups) values plus [users.NAME].groups, credential =
/// "serial:<hex>". nullopt when there is no verified peer
/// certificate or its CN is missing, empty, or repeated (an ambiguous identity is refused).
std::optional<tls_peer> peer_identity(SSL const* ssl, config::config const& cfg,
                                      std::string peer_address);

} // namespace dockgate::tls
