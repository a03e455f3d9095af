#pragma once
// The admin endpoint ([admin] address): GET /healthz and GET /metrics (Prometheus text), plain
// HTTP, one request per connection. Keep it on a loopback or management address.

#include <functional>
#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gateway/server/metrics.hpp"
#include "gateway/server/runtime.hpp"

namespace dockgate::server {

/// Accepts on `acceptor` until it is closed; `current` returns the snapshot in force.
boost::asio::awaitable<void> serve_admin(boost::asio::ip::tcp::acceptor& acceptor,
                                         metrics const& counters,
                                         std::function<std::shared_ptr<snapshot const>()> current);

} // namespace dockgate::server
