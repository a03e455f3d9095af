#pragma once
// The TLS material of one config snapshot: the server context for new handshakes, the trust
// store (CAs and CRLs) that live connections are re-checked against, and the expiry dates the
// metrics report. Immutable once built; shared as shared_ptr<const>.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config/config.hpp"
#include "gateway/tls/crl_source.hpp"

namespace dockgate::tls {

struct ssl_ctx_deleter {
    void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};

struct tls_material {
    using time_point = std::chrono::system_clock::time_point;
    std::unique_ptr<SSL_CTX, ssl_ctx_deleter> ctx;
    time_point server_not_after;
    struct ca_info {
        std::string subject;
        time_point not_after;
    };
    std::vector<ca_info> cas;
    std::optional<time_point> crl_next_update; // the earliest nextUpdate of all CRLs
    bool checks_revocation = false;
    bool allow_stale_crl = false; // listen.tls.crl_stale = "allow"
};

/// A CRL fetched from one of listen.tls.crl_urls, already parsed.
struct fetched_crl {
    std::string url;
    crl_ptr crl;
};

/// A server context with the protocol settings of every dockgate TLS listener (versions,
/// suites, no resumption, partial writes, read-ahead, a bare FIN read as EOF) and no
/// certificates, key or client verification yet.
std::unique_ptr<SSL_CTX, ssl_ctx_deleter> new_server_context();

/// TLS 1.2 and 1.3 only, ECDHE with AEAD suites, a verified client certificate required
/// (issued by a CA in `ca`, valid now, usable for clientAuth, not revoked by a CRL in `crl`
/// when one is configured: then every CA in the bundle needs its CRL there), server chain and
/// key from `cert`/`key` (ECDSA, RSA or Ed25519). Throws std::runtime_error naming the config
/// key, the file and the problem.
/// `fetched` adds the CRLs last fetched from listen.tls.crl_urls (each checked again against
/// the CA bundle). A CRL past its nextUpdate refuses the certificates of its CA unless
/// listen.tls.crl_stale = "allow".
std::shared_ptr<tls_material const> load_tls_material(config::tls_listener const& tls,
                                                      std::vector<fetched_crl> const& fetched = {});

/// After a failed handshake: why the client certificate named no single user under
/// listen.tls.identity, or nullopt when that was not why it failed.
std::optional<std::string> identity_refusal(SSL const* ssl);

/// Re-verifies a client certificate chain captured at handshake time against `material`'s
/// trust store and CRLs, at the current time. Returns the reason it no longer passes, or
/// nullopt when it still does.
std::optional<std::string> reverify(tls_material const& material, X509* leaf,
                                    STACK_OF(X509) * chain);

} // namespace dockgate::tls
