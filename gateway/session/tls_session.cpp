#include "gateway/session/tls_session.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "common/x509_name.hpp"
#include "gateway/session/http_session_impl.hpp"
#include "gateway/tls/peer_identity.hpp"

namespace dockgate::session {

template class http_session<tls_stream>;

namespace {

using server::handshake_failure;

handshake_failure classify(long verify, bool timed_out, bool had_cert) {
    if (timed_out)
        return handshake_failure::timeout;
    switch (verify) {
    case X509_V_OK:
        return had_cert ? handshake_failure::protocol : handshake_failure::no_certificate;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return handshake_failure::expired;
    case X509_V_ERR_CERT_REVOKED:
        return handshake_failure::revoked;
    case X509_V_ERR_CRL_HAS_EXPIRED:
        return handshake_failure::crl_stale;
    default:
        return handshake_failure::untrusted;
    }
}

// Re-checks the connection's certificate chain when CAs, CRLs or time move on. The chain is read
// from the connection's own SSL object when needed (it keeps it for as long as it lives, and
// the check never outlives the session that owns both), so nothing is copied per connection.
credential_check make_check(SSL* ssl) {
    return [ssl](server::snapshot const& next) -> std::optional<std::string> {
        if (!next.tls)
            return std::string("the TLS listener was removed");
        return tls::reverify(*next.tls, SSL_get0_peer_certificate(ssl),
                             SSL_get_peer_cert_chain(ssl));
    };
}

asio::awaitable<void> handshake(std::shared_ptr<tls_stream> stream,
                                std::shared_ptr<server::snapshot const> snap,
                                server::services& services, server::session_registry& registry) {
    auto const id = services.next_connection_id.fetch_add(1, std::memory_order_relaxed);
    std::string peer = "?";
    {
        error_code ec;
        auto ep = stream->next_layer().remote_endpoint(ec);
        if (!ec)
            peer = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    // Sessions own the connection count from here on; until then this coroutine does.
    bool handed_over = false;
    struct count_guard {
        server::services& s;
        bool& handed_over;
        ~count_guard() {
            if (!handed_over)
                s.open_connections.fetch_sub(1, std::memory_order_relaxed);
        }
    } guard{services, handed_over};

    bool timed_out = false;
    asio::steady_timer deadline(stream->get_executor());
    deadline.expires_after(snap->cfg->limits.handshake_timeout);
    deadline.async_wait([weak = std::weak_ptr<tls_stream>(stream), &timed_out](error_code ec) {
        if (ec)
            return;
        if (auto s = weak.lock()) {
            timed_out = true;
            close_now(*s);
        }
    });
    auto [ec] = co_await stream->async_handshake(use_tuple);
    deadline.cancel();
    if (ec) {
        SSL* ssl = stream->native_handle();
        long const verify = SSL_get_verify_result(ssl);
        bool const had_cert = SSL_get0_peer_certificate(ssl) != nullptr;
        services.metrics.count_handshake_failure(classify(verify, timed_out, had_cert));
        std::string why = timed_out ? "no handshake within limits.handshake_timeout" : ec.message();
        if (auto refusal = tls::identity_refusal(ssl))
            why = "client certificate rejected: " + *refusal;
        else if (verify != X509_V_OK)
            why = std::string("client certificate rejected: ") +
                  X509_verify_cert_error_string(verify) +
                  (verify == X509_V_ERR_CRL_HAS_EXPIRED
                       ? " (the CRL of its CA is past its nextUpdate and no fresh one came; "
                         "listen.tls.crl_stale = \"refuse\")"
                       : "");
        else if (!had_cert && !timed_out)
            why = "no client certificate (" + ec.message() + ")";
        spdlog::info("conn {} from {}: TLS handshake failed: {}", id, peer, why);
        close_now(*stream);
        co_return;
    }
    auto tls_peer = tls::peer_identity(stream->native_handle(), *snap->cfg, peer);
    if (!tls_peer) {
        services.metrics.count_handshake_failure(handshake_failure::untrusted);
        spdlog::info("conn {} from {}: client certificate has no usable subject CN; closing", id,
                     peer);
        close_now(*stream);
        co_return;
    }
    auto check = make_check(stream->native_handle());
    handed_over = true;
    auto session = std::make_shared<http_session<tls_stream>>(
        std::move(*stream), std::move(tls_peer->who), std::move(tls_peer->cert_groups),
        std::move(check), server::transport::tls, std::move(snap), services, registry, id);
    session->start();
}

} // namespace

void start_tls_connection(asio::ip::tcp::socket socket,
                          std::shared_ptr<server::snapshot const> snap, server::services& services,
                          server::session_registry& registry) {
    error_code ec;
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    auto ex = socket.get_executor();
    auto stream = std::make_shared<tls_stream>(std::move(socket), snap->tls->ctx.get());
    asio::co_spawn(ex, handshake(std::move(stream), std::move(snap), services, registry),
                   asio::detached);
}

} // namespace dockgate::session
