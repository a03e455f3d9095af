#pragma once
// Connecting to the daemon's unix socket without mistaking a full accept queue for success.

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/system/error_code.hpp>

namespace dockgate::server {

/// Connects `socket` (closed) to the unix socket at `path`. A unix connect completes or fails
/// at once; only a listener whose accept queue is full makes it wait, and a non-blocking
/// connect then fails with EAGAIN, which Asio's async_connect would report as connected (an
/// unconnected socket polls writable). So the connect is retried, with a growing pause, until
/// `within` has passed: then `timed_out`. Other errors (no such file, refused) are returned
/// at once.
boost::asio::awaitable<boost::system::error_code>
connect_unix(boost::asio::local::stream_protocol::socket& socket, std::string const& path,
             std::chrono::steady_clock::duration within);

} // namespace dockgate::server
