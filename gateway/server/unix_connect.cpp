#include "gateway/server/unix_connect.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dockgate::server {

namespace asio = boost::asio;
using boost::system::error_code;

asio::awaitable<error_code> connect_unix(asio::local::stream_protocol::socket& socket,
                                         std::string const& path,
                                         std::chrono::steady_clock::duration within) {
    using namespace std::chrono_literals;
    auto const deadline = std::chrono::steady_clock::now() + within;
    asio::local::stream_protocol::endpoint const endpoint(path);
    auto pause = std::chrono::steady_clock::duration(1ms);
    for (;;) {
        error_code ec;
        socket.open(asio::local::stream_protocol(), ec);
        if (!ec)
            socket.non_blocking(true, ec);
        if (ec)
            co_return ec;
        if (::connect(socket.native_handle(), endpoint.data(),
                      static_cast<socklen_t>(endpoint.size())) == 0)
            co_return error_code{};
        int const err = errno;
        socket.close(ec);
        if (err != EAGAIN && err != EINTR)
            co_return error_code(err, boost::system::system_category());
        auto const now = std::chrono::steady_clock::now();
        if (now >= deadline)
            co_return asio::error::timed_out;
        asio::steady_timer timer(socket.get_executor());
        timer.expires_after(std::min(pause, deadline - now));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        pause = std::min<std::chrono::steady_clock::duration>(pause * 2, 50ms);
    }
}

} // namespace dockgate::server
