#include "gateway/server/crl_fetcher.hpp"

#include <algorithm>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "common/openssl_util.hpp"

namespace dockgate::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct fetch_result {
    std::string body;
    std::string error; // "" on success
};

// One GET, bounded as a whole by `timeout` and in size by crl_body_limit. Redirects are not
// followed: a CRL distribution point serves the file itself.
asio::awaitable<fetch_result> http_get(config::crl_url const& url,
                                       std::vector<tcp::endpoint> const& endpoints,
                                       duration timeout) {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    stream.expires_after(timeout);
    if (auto [ec, ep] = co_await stream.async_connect(endpoints, use_tuple); ec)
        co_return fetch_result{{}, "cannot connect: " + ec.message()};
    http::request<http::empty_body> req{http::verb::get, url.target, 11};
    req.set(http::field::host,
            url.port == 80 ? url.host : url.host + ":" + std::to_string(url.port));
    req.set(http::field::user_agent, "dockgate");
    req.set(http::field::accept, "application/pkix-crl, application/x-pem-file, */*");
    req.set(http::field::connection, "close");
    if (auto [ec, n] = co_await http::async_write(stream, req, use_tuple); ec)
        co_return fetch_result{{}, "cannot send the request: " + ec.message()};
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(crl_body_limit);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (ec == http::error::body_limit)
        co_return fetch_result{{},
                               "the response is larger than " +
                                   std::to_string(crl_body_limit / (1024 * 1024)) + " MiB"};
    if (ec == beast::error::timeout)
        co_return fetch_result{{},
                               "no whole response within listen.tls.crl_timeout (" +
                                   format_duration(timeout) + ")"};
    if (ec)
        co_return fetch_result{{}, "cannot read the response: " + ec.message()};
    auto& res = parser.get();
    if (res.result() != http::status::ok) {
        std::string why = "HTTP " + std::to_string(res.result_int());
        if (auto const loc = res.find(http::field::location); loc != res.end())
            why += " to " + std::string(loc->value()) +
                   " (redirects are not followed: list the "
                   "final URL)";
        co_return fetch_result{{}, why};
    }
    co_return fetch_result{std::move(res.body()), ""};
}

std::string to_der(std::vector<tls::crl_ptr> const& crls) {
    std::string out;
    for (auto const& c : crls)
        out += dockgate::to_der(c.get());
    return out;
}

} // namespace

crl_fetcher::crl_fetcher(asio::io_context& io, metrics& m, current_fn current,
                         std::function<void()> changed)
    : io_(io)
    , metrics_(m)
    , current_(std::move(current))
    , changed_(std::move(changed)) {}

void crl_fetcher::fetch_at_start(config::tls_listener const& tls, snapshot const& start) {
    refresh_ = tls.crl_refresh;
    timeout_ = tls.crl_timeout;
    asio::io_context local;
    tcp::resolver resolver(local);
    for (std::size_t i = 0; i < tls.crl_urls.size(); ++i) {
        auto const& url = tls.crl_urls[i];
        auto const key = "listen.tls.crl_urls[" + std::to_string(i) + "]: " + url.url;
        auto s = std::make_unique<source>();
        s->url = url;
        s->timer = std::make_unique<asio::steady_timer>(io_);
        // Resolved once, here: after start-up the gateway reads no resolver files and sends no
        // DNS queries. A new address for the host needs a restart.
        error_code ec;
        auto const found = resolver.resolve(url.host, std::to_string(url.port), ec);
        if (ec)
            throw std::runtime_error(key + ": cannot resolve " + url.host + ": " + ec.message() +
                                     " (fix the name or use an IP address)");
        for (auto const& entry : found)
            s->endpoints.push_back(entry.endpoint());
        fetch_result got;
        asio::co_spawn(local, http_get(url, s->endpoints, timeout_),
                       [&got](std::exception_ptr const& e, fetch_result r) {
                           got = e ? fetch_result{{}, "the fetch failed"} : std::move(r);
                       });
        local.restart();
        local.run();
        bool changed = false;
        auto why = got.error.empty() ? accept(*s, got.body, start, changed) : got.error;
        if (!why.empty()) {
            metrics_.crl_fetch_failed(url.url);
            throw std::runtime_error(
                key + ": no CRL at start: " + why +
                " (dockgate does not start without the CRLs it is told to check; fix the URL or "
                "the server, or remove the URL)");
        }
        spdlog::info("CRL of {} fetched from {}", tls::crl_issuer(s->crls.front().get()), url.url);
        sources_.push_back(std::move(s));
    }
}

void crl_fetcher::start() {
    for (auto& s : sources_)
        schedule(*s);
}

void crl_fetcher::stop() {
    stopped_ = true;
    for (auto& s : sources_)
        s->timer->cancel();
}

std::vector<tls::fetched_crl> crl_fetcher::crls() const {
    std::vector<tls::fetched_crl> out;
    for (auto const& s : sources_)
        for (auto const& c : s->crls)
            out.push_back({s->url.url, c});
    return out;
}

void crl_fetcher::schedule(source& s) {
    std::optional<std::chrono::system_clock::time_point> earliest;
    for (auto const& c : s.crls)
        if (auto const next = tls::crl_next_update(c.get());
            next && (!earliest || *next < *earliest))
            earliest = next;
    auto const delay = tls::next_fetch_delay(refresh_, std::chrono::system_clock::now(), earliest);
    s.timer->expires_after(delay);
    s.timer->async_wait([this, &s](error_code ec) {
        if (!ec && !stopped_)
            fetch(s);
    });
}

void crl_fetcher::fetch(source& s) {
    asio::co_spawn(io_, http_get(s.url, s.endpoints, timeout_),
                   [this, &s](std::exception_ptr const& e, fetch_result got) {
                       if (stopped_)
                           return;
                       if (e)
                           got = {{}, "the fetch failed"};
                       bool changed = false;
                       auto const why = got.error.empty()
                                            ? accept(s, got.body, *current_(), changed)
                                            : got.error;
                       if (!why.empty()) {
                           metrics_.crl_fetch_failed(s.url.url);
                           spdlog::warn("CRL fetch from {} failed, the last good CRL stays in "
                                        "use: {}",
                                        s.url.url, why);
                       }
                       report_staleness(s);
                       if (changed) {
                           spdlog::info("new CRL of {} from {}",
                                        tls::crl_issuer(s.crls.front().get()), s.url.url);
                           changed_();
                       }
                       schedule(s);
                   });
}

std::string crl_fetcher::accept(source& s, std::string const& body, snapshot const& current,
                                bool& changed) {
    auto parsed = tls::parse_crls(body);
    if (auto const* why = std::get_if<std::string>(&parsed))
        return "not a CRL: " + *why;
    auto& crls = std::get<std::vector<tls::crl_ptr>>(parsed);
    if (!current.tls)
        return "no TLS listener";
    for (auto const& c : crls)
        if (auto const why = tls::crl_issuer_problem(*current.tls, c.get()))
            return "the CRL is not used: " + *why;
    if (auto const why = tls::crl_rollback_problem(s.crls, crls))
        return "the CRL is not used: " + *why;
    auto der = to_der(crls);
    metrics_.crl_fetched(s.url.url, std::chrono::system_clock::now());
    changed = der != s.der;
    if (changed) {
        s.der = std::move(der);
        s.crls = std::move(crls);
    }
    return "";
}

void crl_fetcher::report_staleness(source& s) {
    auto const now = std::chrono::system_clock::now();
    bool stale = false;
    for (auto const& c : s.crls)
        if (auto const next = tls::crl_next_update(c.get()); next && *next < now)
            stale = true;
    metrics_.crl_stale(s.url.url, stale);
    auto const current = current_();
    bool const allow_stale =
        current->cfg->tls && current->cfg->tls->crl_stale == config::crl_stale_policy::allow;
    if (stale && !s.stale_reported)
        spdlog::log(allow_stale ? spdlog::level::warn : spdlog::level::err,
                    "the CRL from {} ({}) is past its nextUpdate and no fresh one came: {}",
                    s.url.url, tls::crl_issuer(s.crls.front().get()),
                    allow_stale ? "still in use (listen.tls.crl_stale = \"allow\")"
                                : "client certificates of that CA are refused "
                                  "(listen.tls.crl_stale = \"refuse\")");
    else if (!stale && s.stale_reported)
        spdlog::info("the CRL from {} is current again", s.url.url);
    s.stale_reported = stale;
}

} // namespace dockgate::server
