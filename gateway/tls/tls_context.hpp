#pragma once
// The server-side TLS context for the mutual-TLS listener, built from one config snapshot.

#include "config/config.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace dockgate::tls {

/// TLS 1.2 and 1.3 only, ECDHE with AEAD suites, a verified client certificate required
/// (issued by a CA in `ca`, valid now, usable for clientAuth), server certificate chain and
/// key from `cert`/`key` (ECDSA, RSA or Ed25519). Throws std::runtime_error naming the file
/// and the problem; used at startup and by check-config.
std::shared_ptr<boost::asio::ssl::context> make_server_context(config::tls_listener const& tls);

} // namespace dockgate::tls
