#include "gateway/session/stream_traits.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dockgate::session {

namespace asio = boost::asio;

asio::awaitable<void> graceful_close(tls_stream& s) {
    // Sends close_notify; the peer's reply (or its EOF) ends the wait.
    co_await s.async_shutdown(asio::as_tuple(asio::use_awaitable));
    close_now(s);
}

asio::awaitable<void> graceful_close(unix_stream& s) {
    boost::system::error_code ec;
    s.shutdown(asio::socket_base::shutdown_send, ec);
    close_now(s);
    co_return;
}

} // namespace dockgate::session
