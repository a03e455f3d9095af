#pragma once
// The mutual-TLS transport: handshake, identity from the client certificate, then the shared
// HTTP session.

#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "gateway/server/runtime.hpp"

namespace dockgate::session {

/// Takes over an accepted socket (already bound to its worker's executor) and serves it until
/// it closes. Runs on the socket's executor; returns at once. The handshake uses `snap`'s TLS
/// material and is bounded by limits.handshake_timeout; a failed handshake or an unusable
/// certificate is logged, counted and closed.
void start_tls_connection(boost::asio::ip::tcp::socket socket,
                          std::shared_ptr<server::snapshot const> snap, server::services& services,
                          server::session_registry& registry);

} // namespace dockgate::session
