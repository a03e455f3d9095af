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

/// After a successful handshake: the identity of the verified peer certificate (see
/// certificate_identity); nullopt when there is no peer certificate or it did not verify.
std::optional<tls_peer> peer_identity(SSL const* ssl, config::config const& cfg,
                                      std::string peer_address);

/// The identity a certificate names: user = subject CN, groups = subject O values plus
/// [users.NAME].groups, credential = "serial:<hex>". nullopt when its CN is missing, empty, or
/// repeated, or when a CN or O value does not read as UTF-8 (an ambiguous identity is refused).
/// Checks nothing else: the caller must have verified the certificate.
std::optional<tls_peer> certificate_identity(X509 const* cert, config::config const& cfg,
                                             std::string peer_address);

} // namespace dockgate::tls
