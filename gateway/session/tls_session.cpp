#include "gateway/session/tls_session.hpp"

#include "gateway/session/http_session_impl.hpp"
#include "gateway/tls/peer_identity.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

namespace dockgate::session {

template class http_session<tls_stream>;

namespace {

std::string describe_handshake_failure(tls_stream& stream, error_code const& ec) {
    long const verify = SSL_get_verify_result(stream.native_handle());
    if (verify != X509_V_OK)
        return std::string("client certificate rejected: ") + X509_verify_cert_error_string(verify);
    return ec.message();
}

// The SSL object holds its own reference to the context, so the context may be swapped
// (reload) while this connection is open.
asio::awaitable<void> handshake(std::shared_ptr<tls_stream> stream, std::shared_ptr<server::snapshot const> snap, server::services& services,
                                server::session_registry& registry) {
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

    asio::steady_timer deadline(stream->get_executor());
    deadline.expires_after(snap->cfg->limits.handshake_timeout);
    deadline.async_wait([weak = std::weak_ptr<tls_stream>(stream)](error_code ec) {
        if (ec)
            return;
        if (auto s = weak.lock())
            close_now(*s);
    });
    auto [ec] = co_await stream->async_handshake(use_tuple);
    deadline.cancel();
    if (ec) {
        spdlog::info("conn {} from {}: TLS handshake failed: {}", id, peer, describe_handshake_failure(*stream, ec));
        close_now(*stream);
        co_return;
    }
    auto who = tls::peer_identity(stream->native_handle(), *snap->cfg, peer);
    if (!who) {
        spdlog::info("conn {} from {}: client certificate has no usable subject CN; closing", id, peer);
        close_now(*stream);
        co_return;
    }
    handed_over = true;
    auto session = std::make_shared<http_session<tls_stream>>(std::move(*stream), std::move(*who), std::move(snap),
                                                              services, registry, id);
    session->start();
}

} // namespace

void start_tls_connection(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
                          std::shared_ptr<server::snapshot const> snap, server::services& services,
                          server::session_registry& registry) {
    error_code ec;
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    auto ex = socket.get_executor();
    auto stream = std::make_shared<tls_stream>(std::move(socket), tls->native_handle());
    asio::co_spawn(ex, handshake(std::move(stream), std::move(snap), services, registry),
                   asio::detached);
}

} // namespace dockgate::session
