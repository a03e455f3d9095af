#include "gateway/session/stream_traits.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dockgate::session {

namespace asio = boost::asio;

asio::awaitable<void> graceful_close(tls_stream& s) {
    // close_notify then FIN; the peer's close_notify is not waited for (RFC 8446 6.1 allows it).
    s.send_close_notify();
    boost::system::error_code ec;
    s.next_layer().shutdown(asio::socket_base::shutdown_send, ec);
    close_now(s);
    co_return;
}

asio::awaitable<void> graceful_close(unix_stream& s) {
    boost::system::error_code ec;
    s.shutdown(asio::socket_base::shutdown_send, ec);
    close_now(s);
    co_return;
}

// Exit status 0, EOF and close: `ssh` exits 0 and the docker CLI sees a clean end.
asio::awaitable<void> graceful_close(ssh_stream& s) {
    close_now(s);
    co_return;
}

} // namespace dockgate::session
