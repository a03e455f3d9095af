#include "gateway/tls/peer_identity.hpp"

#include "common/x509_name.hpp"

#include <openssl/objects.h>

namespace dockgate::tls {

std::optional<policy::identity> peer_identity(SSL const* ssl, config::config const& cfg,
                                              std::string peer_address) {
    X509 const* cert = SSL_get0_peer_certificate(ssl);
    if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK)
        return std::nullopt;
    auto names = subject_values(cert, NID_commonName);
    if (names.size() != 1 || names.front().empty())
        return std::nullopt;
    policy::identity who;
    who.user = std::move(names.front());
    who.groups = policy::resolve_groups(cfg, who.user, subject_values(cert, NID_organizationName));
    who.transport = "tls";
    who.peer = std::move(peer_address);
    who.credential = "serial:" + serial_hex(cert);
    return who;
}

} // namespace dockgate::tls
