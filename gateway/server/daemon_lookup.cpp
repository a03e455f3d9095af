#include "gateway/server/daemon_lookup.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "gateway/server/unix_connect.hpp"

namespace dockgate::server {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

asio::awaitable<void> ask(asio::local::stream_protocol::socket& socket,
                          std::filesystem::path const& path, admission::lookup const& what,
                          admission::daemon_reply& out,
                          std::chrono::steady_clock::duration connect_within) {
    constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
    if (co_await connect_unix(socket, path.string(), connect_within))
        co_return;
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, what.path, 11};
    req.set(bhttp::field::host, "docker");
    req.set(bhttp::field::user_agent, "dockgate");
    req.keep_alive(false);
    auto [wec, wn] = co_await bhttp::async_write(socket, req, tuple);
    if (wec)
        co_return;
    boost::beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(what.max_bytes);
    auto [rec, rn] = co_await bhttp::async_read(socket, buffer, parser, tuple);
    if (rec)
        co_return;
    out.status = parser.get().result_int();
    out.body = std::move(parser.get().body());
}

} // namespace

admission::daemon_reply daemon_lookup(std::filesystem::path const& socket,
                                      admission::lookup const& what,
                                      std::chrono::steady_clock::duration timeout) {
    admission::daemon_reply out; // outlives the io_context and the coroutine that fills it
    asio::io_context io;
    asio::local::stream_protocol::socket s(io);
    asio::co_spawn(io, ask(s, socket, what, out, timeout), asio::detached);
    io.run_for(timeout);
    if (!io.stopped())
        return {}; // out of time: the pending operations die with the io_context
    return out;
}

} // namespace dockgate::server
