#pragma once
// The caller's identity from a verified client certificate.

#include <optional>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "config/config.hpp"
#include "gateway/policy/identity.hpp"

namespace dockgate::tls {

struct tls_peer {
    policy::identity who;                 // groups include [users.NAME].groups
    std::vector<std::string> cert_groups; // the certificate's own O values
};

/// The user a certificate names: its subject CN when there is exactly one and it is not empty
/// (an ambiguous identity is refused), else nullopt.
std::optional<std::string> certificate_user(X509 const* cert);

/// After a successful handshake: user = subject CN, groups = subject O values plus
/// [users.NAME].groups, credential = "serial:<hex>". nullopt when there is no verified peer
/// certificate or its CN is missing, empty, or repeated (an ambiguous identity is refused).
std::optional<tls_peer> peer_identity(SSL const* ssl, config::config const& cfg,
                                      std::string peer_address);

} // namespace dockgate::tls
