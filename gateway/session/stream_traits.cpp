#include "gateway/session/stream_traits.hpp"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dockgate::session {

namespace asio = boost::asio;

namespace {

// Reads and drops until the peer closes, an error (the caller's deadline closing the socket),
// or linger_bytes.
template <class Socket>
asio::awaitable<void> drain(Socket& socket) {
    std::array<char, 16384> sink;
    std::size_t total = 0;
    while (total < linger_bytes) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(sink),
                                                       asio::as_tuple(asio::use_awaitable));
        if (ec)
            break;
        total += n;
    }
}

} // namespace

asio::awaitable<void> graceful_close(tls_stream& s, bool linger) {
    // close_notify then FIN; the peer's close_notify is not waited for (RFC 8446 6.1 allows it).
    s.send_close_notify();
    boost::system::error_code ec;
    s.next_layer().shutdown(asio::socket_base::shutdown_send, ec);
    if (linger)
        co_await drain(s.next_layer()); // raw records: nothing more is decrypted
    close_now(s);
}

asio::awaitable<void> graceful_close(unix_stream& s, bool linger) {
    boost::system::error_code ec;
    s.shutdown(asio::socket_base::shutdown_send, ec);
    if (linger)
        co_await drain(s);
    close_now(s);
}

// Exit status 0, EOF and close: `ssh` exits 0 and the docker CLI sees a clean end.
asio::awaitable<void> graceful_close(ssh_stream& s, bool /*linger*/) {
    close_now(s);
    co_return;
}

} // namespace dockgate::session
