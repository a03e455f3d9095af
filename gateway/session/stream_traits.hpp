#pragma once
// The few things the HTTP session needs to do differently per transport. Each transport
// provides overloads of these for its stream type; the session code calls them unqualified.

#include <cerrno>
#include <sys/socket.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "gateway/ssh/channel_stream.hpp"
#include "gateway/tls/tls_socket.hpp"

namespace dockgate::session {

using tls_stream = tls::tls_socket;
using unix_stream = boost::asio::local::stream_protocol::socket;
using ssh_stream = ssh::channel_stream;

/// Closes the underlying socket at once; pending operations complete with an error.
inline void close_now(tls_stream& s) {
    boost::system::error_code ec;
    s.next_layer().close(ec);
}
inline void close_now(unix_stream& s) {
    boost::system::error_code ec;
    s.close(ec);
}
inline void close_now(ssh_stream& s) {
    s.close();
}

/// Half-closes: the peer reads EOF, this side can still read.
inline void shutdown_send(tls_stream& s) {
    boost::system::error_code ec;
    s.next_layer().shutdown(boost::asio::socket_base::shutdown_send, ec);
}
inline void shutdown_send(unix_stream& s) {
    boost::system::error_code ec;
    s.shutdown(boost::asio::socket_base::shutdown_send, ec);
}
/// An SSH channel's EOF.
inline void shutdown_send(ssh_stream& s) {
    s.shutdown_send();
}

/// Completes when the stream has something to read (or failed), without taking a buffer.
template <class Token>
auto async_wait_readable(tls_stream& s, Token&& token) {
    return s.async_wait_readable(std::forward<Token>(token));
}
template <class Token>
auto async_wait_readable(unix_stream& s, Token&& token) {
    return s.async_wait(boost::asio::socket_base::wait_read, std::forward<Token>(token));
}
template <class Token>
auto async_wait_readable(ssh_stream& s, Token&& token) {
    return s.async_wait_readable(std::forward<Token>(token));
}

/// Gives the TLS record buffers back while the connection waits (OpenSSL keeps its read
/// buffer after a read that found nothing, ~17 KiB per idle connection); keeps them when data
/// is pending in them.
inline void release_buffers(tls_stream& s) {
    s.release_buffers();
}
inline void release_buffers(unix_stream&) {}
inline void release_buffers(ssh_stream&) {} // the bytes wait in libssh's channel buffer

/// 1: data waiting, 0: the peer closed, -1: nothing yet. Consumes nothing.
inline int peek_state(tls_stream& s) {
    return s.peek_state();
}
inline int peek_state(unix_stream& s) {
    char c;
    ssize_t const n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0)
        return 1;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return -1;
    return 0;
}
inline int peek_state(ssh_stream& s) {
    return s.peek_state();
}

/// Cancels the reads and waits pending on the stream (nothing else is pending when called).
inline void cancel_waits(tls_stream& s) {
    boost::system::error_code ec;
    s.next_layer().cancel(ec);
}
inline void cancel_waits(unix_stream& s) {
    boost::system::error_code ec;
    s.cancel(ec);
}
inline void cancel_waits(ssh_stream& s) {
    s.cancel_reads();
}

/// Ends the connection politely (TLS close_notify, then FIN); the caller bounds it with a
/// deadline that closes the socket. With `linger` (after an error reply, when the client may
/// still be sending) it then reads and drops what the client sends, up to linger_bytes, until
/// the client closes too: closing with unread data would make the kernel send a reset, and
/// the client could lose the reply it had not read yet (nginx's lingering close).
boost::asio::awaitable<void> graceful_close(tls_stream& s, bool linger);
boost::asio::awaitable<void> graceful_close(unix_stream& s, bool linger);
/// An SSH channel: EOF and close (nothing unread can turn into a reset of the connection).
boost::asio::awaitable<void> graceful_close(ssh_stream& s, bool linger);

/// How much a lingering close reads before it gives up and closes.
inline constexpr std::size_t linger_bytes = 1024 * 1024;

} // namespace dockgate::session
