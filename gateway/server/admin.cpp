#include "gateway/server/admin.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace dockgate::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> serve_one(beast::tcp_stream stream, metrics const& counters,
                                std::shared_ptr<snapshot const> snap) {
    stream.expires_after(std::chrono::seconds(5));
    beast::flat_buffer buffer(16 * 1024);
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(8 * 1024);
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    if (ec)
        co_return;
    auto const& req = parser.get();
    bhttp::response<bhttp::string_body> res;
    res.version(11);
    res.keep_alive(false);
    res.set(bhttp::field::server, "dockgate");
    if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) {
        res.result(bhttp::status::method_not_allowed);
        res.body() = "GET only\n";
    } else if (req.target() == "/healthz") {
        res.result(bhttp::status::ok);
        res.set(bhttp::field::content_type, "text/plain");
        res.body() = "ok\n";
    } else if (req.target() == "/metrics") {
        res.result(bhttp::status::ok);
        res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
        res.body() = counters.render(*snap);
    } else {
        res.result(bhttp::status::not_found);
        res.body() = "try /healthz or /metrics\n";
    }
    res.prepare_payload();
    co_await bhttp::async_write(stream, res, use_tuple);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

} // namespace

asio::awaitable<void> serve_admin(asio::ip::tcp::acceptor& acceptor, metrics const& counters,
                                  std::function<std::shared_ptr<snapshot const>()> current) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec) {
            if (!acceptor.is_open())
                co_return;
            continue;
        }
        asio::co_spawn(acceptor.get_executor(),
                       serve_one(beast::tcp_stream(std::move(socket)), counters, current()),
                       asio::detached);
    }
}

} // namespace dockgate::server
