#pragma once
// One client connection after its transport is established and its identity known: reads
// HTTP/1.1 requests, canonicalises and authorises each, relays allowed ones to the daemon's
// unix socket and streams the responses back, and turns into a two-way byte relay when the
// daemon upgrades the connection (attach, exec, BuildKit session).
//
// Threading: a session lives on one worker's io_context and is never touched from another
// thread. It keeps itself alive with shared_from_this while any coroutine of it runs.
// The transport is a template parameter; everything else is transport-agnostic.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>

#include "gateway/admission/admission.hpp"
#include "gateway/http/head_check.hpp"
#include "gateway/server/runtime.hpp"
#include "gateway/session/buffer_pool.hpp"
#include "gateway/session/stream_traits.hpp"
#include "gateway/session/watchdog.hpp"

namespace dockgate::session {

/// Re-checks the transport credential (certificate chain, SSH key) against a new snapshot:
/// the reason it no longer holds, or nullopt.
using credential_check = std::function<std::optional<std::string>(server::snapshot const&)>;

template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>>,
                     public server::session_handle {
public:
    /// `credential_groups` are the groups the credential itself carries (certificate O values);
    /// `who.groups` adds the configured ones and is recomputed on every new snapshot.
    http_session(Stream stream, policy::identity who, std::vector<std::string> credential_groups,
                 credential_check check, server::transport kind,
                 std::shared_ptr<server::snapshot const> snap, server::services& services,
                 server::session_registry& registry, std::uint64_t connection_id);
    ~http_session() override;

    /// Starts serving on the stream's executor. Call once, from the worker thread.
    void start();

    void drain() override;
    void abort() override;
    void revalidate(std::shared_ptr<server::snapshot const> next) override;
    void sweep_upstream() override;

private:
    using request_parser = http::request_parser;
    using response_parser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;
    using request_serializer =
        boost::beast::http::serializer<true, boost::beast::http::buffer_body>;
    using response_serializer =
        boost::beast::http::serializer<false, boost::beast::http::buffer_body>;

    // Per-request state; reset for every request on the connection.
    struct exchange;

    void park(bool first);
    boost::asio::awaitable<void> serve_requests(bool first);
    boost::asio::awaitable<void> finish();
    // Serves one request; returns whether the connection may carry another.
    boost::asio::awaitable<bool> serve_one(bool first);
    boost::asio::awaitable<bool> read_head(bool first, std::size_t& head_length);
    boost::asio::awaitable<bool> forward(std::shared_ptr<exchange> x);
    boost::asio::awaitable<void> relay_request_body(std::shared_ptr<exchange> x);
    boost::asio::awaitable<bool> relay_response_body(exchange& x);
    boost::asio::awaitable<void> relay_upgraded(exchange& x);
    boost::asio::awaitable<void> watch_client(std::uint64_t generation);
    boost::asio::awaitable<void> pump_client_to_daemon();
    boost::asio::awaitable<void> pump_client_to_daemon_loop();
    boost::asio::awaitable<bool> connect_upstream(exchange& x);
    // A refusal: the request's body (if any) read and dropped within refused_body_limit, then
    // the reply; returns whether the connection may carry another request.
    boost::asio::awaitable<bool> refuse(exchange& x, unsigned status, std::string message,
                                        bool close = false);
    boost::asio::awaitable<bool> reply_locally(exchange& x, std::string const& json);
    boost::asio::awaitable<bool> refuse_limited(exchange& x, limits::refusal over);
    enum class body_read { complete, too_large, failed };
    boost::asio::awaitable<body_read> read_whole_body(exchange& x, std::uint64_t limit);
    boost::asio::awaitable<admission::daemon_reply> daemon_get(admission::lookup const& what);
    boost::asio::awaitable<void> reply(exchange& x, unsigned status, std::string const& message,
                                       bool close);
    void audit(exchange const& x);
    void shut_all();

    Stream stream_;
    boost::asio::local::stream_protocol::socket upstream_;
    policy::identity who_;
    std::vector<std::string> credential_groups_;
    credential_check check_;
    server::transport kind_;
    std::vector<std::string> roles_;
    std::shared_ptr<server::snapshot const> snap_;
    server::services& services_;
    server::session_registry& registry_;
    std::uint64_t id_;
    watchdog watchdog_;
    boost::beast::flat_buffer client_buffer_;
    boost::beast::flat_buffer daemon_buffer_;
    std::optional<boost::asio::steady_timer> pump_done_; // signalled when client->daemon ends
    bool pump_running_ = false;
    std::uint64_t watch_generation_ = 0; // bumps end the watch of the current response
    bool watching_ = false;
    bool upstream_open_ = false;
    bool idle_ = false;              // parked between requests
    std::uint64_t idle_periods_ = 0; // how often the session went idle; for sweep_upstream
    std::uint64_t swept_at_ = 0;     // idle_periods_ at the previous sweep
    bool draining_ = false;          // finish the current request, then close
    bool closed_ = false;
    bool linger_on_close_ = false; // an error reply was the last word: drain before closing
    // Per-user limits: this connection counts against per_user_connections, or was over it.
    bool counted_connection_ = false;
    std::optional<limits::refusal> over_connections_;
    std::chrono::steady_clock::duration limited_pause_{}; // set by a 429: wait before reading on
};

} // namespace dockgate::session
