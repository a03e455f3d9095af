#include "gateway/tls/peer_identity.hpp"

#include <openssl/objects.h>

#include "common/x509_name.hpp"

namespace dockgate::tls {

std::optional<tls_peer> peer_identity(SSL const* ssl, config::config const& cfg,
                                      std::string peer_address) {
    X509 const* cert = SSL_get0_peer_certificate(ssl);
    if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK)
        return std::nullopt;
    return certificate_identity(cert, cfg, std::move(peer_address));
}

std::optional<tls_peer> certificate_identity(X509 const* cert, config::config const& cfg,
                                             std::string peer_address) {
    auto names = subject_values(cert, NID_commonName);
    if (!names || names->size() != 1 || names->front().empty())
        return std::nullopt;
    auto orgs = subject_values(cert, NID_organizationName);
    if (!orgs)
        return std::nullopt;
    tls_peer peer;
    peer.cert_groups = std::move(*orgs);
    peer.who.user = std::move(names->front());
    peer.who.groups = policy::resolve_groups(cfg, peer.who.user, peer.cert_groups);
    peer.who.transport = "tls";
    peer.who.peer = std::move(peer_address);
    peer.who.credential = "serial:" + serial_hex(cert);
    return peer;
}

} // namespace dockgate::tls
