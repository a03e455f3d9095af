#pragma once
// Implementation of http_session<Stream>; included only by the one translation unit per
// transport that instantiates it (Beast and Asio are heavy to compile).

#include <sstream>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "common/duration.hpp"
#include "gateway/admission/admission.hpp"
#include "gateway/http/local_reply.hpp"
#include "gateway/server/unix_connect.hpp"
#include "gateway/session/http_session.hpp"

namespace dockgate::session {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Request heads are read in steps this size; an idle connection's buffer shrinks back to nothing.
inline constexpr std::size_t head_read_size = 4096;
// How much of a refused request's body is read and dropped before the connection is closed.
inline constexpr std::uint64_t refused_body_limit = 1024 * 1024;
// A daemon look-up for the admission may take this long beyond the connect timeout.
inline constexpr auto lookup_timeout = std::chrono::seconds(10);
// After a 429, the longest the connection goes unread (its Retry-After, if shorter).
inline constexpr auto limited_pause_cap = std::chrono::seconds(1);
// Bounded time for a polite close (TLS close_notify) before the socket is just closed.
inline constexpr auto close_grace = std::chrono::seconds(2);

template <class Stream>
struct http_session<Stream>::exchange {
    std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
    std::chrono::steady_clock::time_point started_steady = std::chrono::steady_clock::now();
    std::optional<request_parser> request;
    std::optional<request_serializer> request_writer;
    std::optional<response_parser> response;
    std::optional<response_serializer> response_writer;
    std::string method;
    std::string path; // canonical target, or the raw one (truncated) when refused
    std::string_view operation;
    // What became of the request: the admission's verdict, or the session's own outcome for a
    // request that never got that far (a malformed head) or failed on the way (the daemon).
    policy::outcome result = policy::outcome::deny;
    std::string role, rule, reason;
    std::string request_facts; // the audit line's "request" object, "" when none
    unsigned status = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    bool head_request = false;
    std::optional<std::string> replacement; // a body read whole for policy: forwarded instead
    std::string reply_headers; // whole header lines added to a local reply (Retry-After)
    // Request body relay running in its own coroutine; the response side waits on `body_done`.
    bool body_finished = false;
    bool body_failed = false;
    std::optional<asio::steady_timer> body_done;
};

template <class Stream>
http_session<Stream>::http_session(Stream stream, policy::identity who,
                                   std::vector<std::string> credential_groups,
                                   credential_check check, server::transport kind,
                                   std::shared_ptr<server::snapshot const> snap,
                                   server::services& services, server::session_registry& registry,
                                   std::uint64_t connection_id)
    : stream_(std::move(stream))
    , upstream_(stream_.get_executor())
    , who_(std::move(who))
    , credential_groups_(std::move(credential_groups))
    , check_(std::move(check))
    , kind_(kind)
    , snap_(std::move(snap))
    , services_(services)
    , registry_(registry)
    , id_(connection_id)
    , watchdog_(stream_.get_executor(), [this](slot) { shut_all(); })
    , client_buffer_(snap_->cfg->limits.header_bytes + relay_buffer_size) {
    roles_ = snap_->policy.roles_of(who_);
    registry_.insert(this);
    services_.metrics.opened(kind_);
    if (auto over =
            services_.users.open_connection(who_.user, limits::limits_for(*snap_->cfg, roles_)))
        over_connections_ = over; // its first request is answered 429, then it closes
    else
        counted_connection_ = true;
}

template <class Stream>
http_session<Stream>::~http_session() {
    registry_.erase(this);
    services_.metrics.closed(kind_);
    services_.open_connections.fetch_sub(1, std::memory_order_relaxed);
    if (counted_connection_)
        services_.users.close_connection(who_.user);
}

template <class Stream>
void http_session<Stream>::revalidate(std::shared_ptr<server::snapshot const> next) {
    if (closed_)
        return;
    if (check_) {
        if (auto why = check_(*next)) {
            spdlog::info("conn {} ({} {}): closing: credential no longer valid: {}", id_,
                         who_.transport, who_.user, *why);
            shut_all();
            return;
        }
    }
    who_.groups = policy::resolve_groups(*next->cfg, who_.user, credential_groups_, who_.alias);
    roles_ = next->policy.roles_of(who_);
    if (roles_.empty()) {
        spdlog::info("conn {} ({} {}): closing: no role is granted to this identity any more", id_,
                     who_.transport, who_.user);
        shut_all();
        return;
    }
    // Requests in flight keep the snapshot they started with (they hold a reference).
    snap_ = std::move(next);
}

template <class Stream>
void http_session<Stream>::start() {
    park(true);
}

// Between requests no coroutine runs: the session waits for the client with a plain callback,
// so an idle connection holds the session object, the TLS state and one pending wait, and no
// coroutine frames. The client's first bytes start serve_requests() again.
template <class Stream>
void http_session<Stream>::park(bool first) {
    auto const& limits = snap_->cfg->limits;
    watchdog_.set(slot::client_read, first ? limits.header_timeout : limits.idle_timeout);
    client_buffer_.shrink_to_fit();
    daemon_buffer_.shrink_to_fit();
    release_buffers(stream_);
    idle_ = true;
    ++idle_periods_;
    async_wait_readable(stream_, [self = this->shared_from_this(), first](error_code ec) {
        self->idle_ = false;
        auto const ex = self->stream_.get_executor();
        // The function object (and the session it holds) lives as long as the coroutine.
        if (ec || self->closed_ || self->draining_)
            asio::co_spawn(
                ex, [self] { return self->finish(); }, asio::detached);
        else
            asio::co_spawn(
                ex, [self, first] { return self->serve_requests(first); }, asio::detached);
    });
}

template <class Stream>
void http_session<Stream>::drain() {
    draining_ = true;
    if (idle_)
        shut_all();
}

template <class Stream>
void http_session<Stream>::sweep_upstream() {
    // Idle through a whole sweep period: the same idle period as at the previous sweep.
    if (idle_ && upstream_open_ && swept_at_ == idle_periods_) {
        error_code ignored;
        upstream_.close(ignored);
        upstream_open_ = false;
        daemon_buffer_.clear();
    }
    swept_at_ = idle_periods_;
}

template <class Stream>
void http_session<Stream>::abort() {
    shut_all();
}

template <class Stream>
void http_session<Stream>::shut_all() {
    if (closed_)
        return;
    closed_ = true;
    watchdog_.stop();
    close_now(stream_);
    error_code ec;
    upstream_.close(ec);
}

// Serves the requests the client has sent, then parks the session until it sends more.
template <class Stream>
asio::awaitable<void> http_session<Stream>::serve_requests(bool first) {
    bool more = true;
    bool pipelined = false;
    while (more && !closed_ && !draining_) {
        more = co_await serve_one(first);
        first = false;
        if (limited_pause_ != std::chrono::steady_clock::duration::zero()) {
            // Answered 429: the connection is not read again before its Retry-After (at most
            // limited_pause_cap), so a client that ignores it cannot turn refusals into load.
            asio::steady_timer pause(stream_.get_executor(), limited_pause_);
            limited_pause_ = std::chrono::steady_clock::duration::zero();
            co_await pause.async_wait(use_tuple);
        }
        pipelined = client_buffer_.size() != 0;
        if (!pipelined)
            break;
    }
    if (more && !pipelined && !closed_ && !draining_)
        park(false);
    else
        co_await finish();
}

// Ends the connection: a polite close within close_grace, then everything closed.
template <class Stream>
asio::awaitable<void> http_session<Stream>::finish() {
    if (!closed_) {
        watchdog_.set(slot::control, close_grace);
        co_await graceful_close(stream_, linger_on_close_);
    }
    shut_all();
}

// Reads until a complete, well-formed head is in client_buffer_. Returns false when the
// connection should end (peer closed, deadline, or an invalid head already answered).
template <class Stream>
asio::awaitable<bool> http_session<Stream>::read_head(bool first, std::size_t& head_length) {
    auto const pin = snap_; // a reload may swap snap_ while this waits
    auto const& limits = pin->cfg->limits;
    auto const limit = static_cast<std::size_t>(limits.header_bytes);
    // The whole head must arrive within header_timeout of its first byte (no slowloris);
    // between requests the connection may sit idle for idle_timeout.
    bool started = client_buffer_.size() > 0;
    if (started)
        watchdog_.set(slot::client_read, limits.header_timeout);
    else
        watchdog_.set(slot::client_read, first ? limits.header_timeout : limits.idle_timeout);
    for (;;) {
        auto const data = client_buffer_.cdata();
        std::string_view const received(static_cast<char const*>(data.data()), data.size());
        auto const scan = http::scan_head(received, limit);
        if (scan.result == http::head_scan::state::complete) {
            head_length = scan.length;
            watchdog_.clear(slot::client_read);
            co_return true;
        }
        if (scan.result == http::head_scan::state::invalid) {
            exchange x;
            x.path = "-";
            x.result = policy::outcome::invalid;
            x.reason = scan.error->reason;
            x.bytes_in = received.size();
            co_await reply(x, scan.error->status, "dockgate: " + scan.error->reason, true);
            co_return false;
        }
        auto [ec, n] =
            co_await stream_.async_read_some(client_buffer_.prepare(head_read_size), use_tuple);
        if (ec)
            co_return false; // peer closed or deadline: nothing to answer
        client_buffer_.commit(n);
        if (!started) {
            started = true;
            watchdog_.set(slot::client_read, limits.header_timeout);
        }
    }
}

template <class Stream>
asio::awaitable<bool> http_session<Stream>::serve_one(bool first) {
    std::size_t head_length = 0;
    if (!co_await read_head(first, head_length))
        co_return false;

    auto x = std::make_shared<exchange>();
    x->bytes_in = head_length;
    x->request.emplace();
    x->request->header_limit(static_cast<std::uint32_t>(snap_->cfg->limits.header_bytes));
    x->request->body_limit(boost::none); // bodies are streamed, never held
    auto const head_bytes = client_buffer_.cdata();
    auto const problem = http::parse_head(
        std::string_view(static_cast<char const*>(head_bytes.data()), head_length), *x->request);
    client_buffer_.consume(head_length);
    if (problem) {
        x->path = "-";
        x->result = policy::outcome::invalid;
        x->reason = problem->reason;
        co_await reply(*x, problem->status, "dockgate: " + problem->reason, true);
        co_return false;
    }

    auto& req = x->request->get();
    x->method = std::string(req.method_string());
    x->head_request = req.method() == bhttp::verb::head;

    // Per-user limits come before any policy work. A request in flight (long streams included)
    // holds its place until it ends.
    auto over = over_connections_;
    if (!over)
        over = services_.users.begin_request(who_.user, limits::limits_for(*snap_->cfg, roles_));
    if (over) {
        x->path = std::string(req.target()).substr(0, 256);
        co_return co_await refuse_limited(*x, *over);
    }
    struct in_flight {
        limits::user_limiter& users;
        std::string const& user;
        ~in_flight() { users.end_request(user); }
    } const counted{services_.users, who_.user};

    // The decision: one admission, pinned to the snapshot and roles in force now. The session
    // only reads the body it asks for and makes the daemon look-ups it needs.
    admission::request_head head;
    head.method = x->method;
    head.target = std::string(req.target());
    head.content_type = std::string(req[bhttp::field::content_type]);
    auto const length = x->request->content_length();
    head.has_body = x->request->chunked() || (length && *length > 0);
    admission::admission judge(snap_, who_, roles_, std::move(head));
    x->operation = judge.operation();
    admission::step step;
    if (auto const limit = judge.body_limit()) {
        switch (co_await read_whole_body(*x, *limit)) {
        case body_read::complete:
            step = judge.start(std::move(*x->replacement));
            x->replacement.reset();
            break;
        case body_read::too_large:
            step = judge.body_too_large();
            break;
        case body_read::failed:
            co_return false;
        }
    } else {
        step = judge.start();
    }
    while (step.needs_lookup() && !closed_)
        step = judge.resume(co_await daemon_get(step.lookup_request()));
    if (closed_)
        co_return false;
    auto const& verdict = step.result();
    x->result = verdict.result;
    x->role = verdict.role;
    x->rule = verdict.rule;
    x->reason = verdict.reason;
    x->request_facts = verdict.request_facts;
    x->path = verdict.target;
    if (verdict.reply_body)
        co_return co_await reply_locally(*x, *verdict.reply_body);
    if (!verdict.forwards())
        co_return co_await refuse(*x, verdict.status, verdict.message, verdict.close_connection);
    if (verdict.forward_body)
        x->replacement = *verdict.forward_body;

    req.target(x->path);
    // The gateway never asks for 100-continue itself; Go's client never sends Expect.
    req.erase(bhttp::field::expect);
    bool const keep = co_await forward(x);
    co_return keep && !draining_;
}

template <class Stream>
asio::awaitable<bool> http_session<Stream>::connect_upstream(exchange& x) {
    if (upstream_open_)
        co_return true;
    auto const path = snap_->cfg->gateway.upstream_socket;
    auto const within = snap_->cfg->limits.upstream_connect_timeout;
    auto ec = co_await server::connect_unix(upstream_, path.string(), within);
    if (ec) {
        if (closed_)
            co_return false;
        upstream_ = asio::local::stream_protocol::socket(stream_.get_executor());
        auto const why = ec == asio::error::timed_out
                             ? "no connection accepted within limits.upstream_connect_timeout (" +
                                   format_duration(within) + ")"
                             : ec.message();
        spdlog::warn("conn {}: cannot reach the Docker daemon at {}: {}", id_, path.string(), why);
        x.result = policy::outcome::error;
        x.reason = "daemon unreachable: " + why;
        co_await reply(x, 502,
                       "dockgate: the Docker daemon is unreachable (" + path.string() + ": " + why +
                           ")",
                       true);
        co_return false;
    }
    upstream_open_ = true;
    daemon_buffer_.clear();
    co_return true;
}

// Writes the request to the daemon, streams the body, and relays the response.
template <class Stream>
asio::awaitable<bool> http_session<Stream>::forward(std::shared_ptr<exchange> shared_x) {
    auto& x = *shared_x;
    if (!co_await connect_upstream(x))
        co_return false;
    auto const pin = snap_; // a reload may swap snap_ while this runs
    auto const& limits = pin->cfg->limits;
    auto& req = x.request->get();
    auto const sent = std::chrono::steady_clock::now();
    error_code wec;
    if (x.replacement) {
        // The body policy read: forward exactly the bytes it judged, framed by length.
        req.chunked(false);
        req.content_length(x.replacement->size());
        req.body().data = x.replacement->data();
        req.body().size = x.replacement->size();
        req.body().more = false;
        x.request_writer.emplace(req);
        watchdog_.set(slot::daemon_io, limits.write_timeout);
        auto [ec, n] = co_await bhttp::async_write(upstream_, *x.request_writer, use_tuple);
        watchdog_.clear(slot::daemon_io);
        wec = ec == bhttp::error::need_buffer ? error_code{} : ec;
    } else {
        req.body().data = nullptr;
        req.body().size = 0;
        req.body().more = !x.request->is_done();
        x.request_writer.emplace(req);
        watchdog_.set(slot::daemon_io, limits.write_timeout);
        auto [ec, n] = co_await bhttp::async_write_header(upstream_, *x.request_writer, use_tuple);
        watchdog_.clear(slot::daemon_io);
        wec = ec;
    }
    if (wec) {
        x.result = policy::outcome::error;
        co_await reply(
            x, 502, "dockgate: lost the connection to the Docker daemon: " + wec.message(), true);
        co_return false;
    }

    x.body_done.emplace(stream_.get_executor(), asio::steady_timer::time_point::max());
    if (x.request->is_done()) {
        x.body_finished = true;
    } else {
        asio::co_spawn(
            stream_.get_executor(),
            [self = this->shared_from_this(), shared_x] {
                return self->relay_request_body(shared_x);
            },
            asio::detached);
    }

    // Response head: passed on the moment it arrives (docker run waits on /wait's headers).
    x.response.emplace();
    x.response->body_limit(boost::none);
    x.response->header_limit(static_cast<std::uint32_t>(limits.header_bytes));
    if (x.head_request)
        x.response->skip(true);
    // Beast sizes its reads by the buffer's spare capacity: without room, bodies would move in
    // 512-byte reads and records.
    daemon_buffer_.reserve(relay_buffer_size);
    auto [rec, rn] =
        co_await bhttp::async_read_header(upstream_, daemon_buffer_, *x.response, use_tuple);
    if (rec) {
        if (closed_)
            co_return false;
        x.result = policy::outcome::error;
        co_await reply(x, 502,
                       "dockgate: the Docker daemon closed the connection: " + rec.message(), true);
        co_return false;
    }
    services_.metrics.observe_upstream(x.operation, std::chrono::steady_clock::now() - sent);
    auto& res = x.response->get();
    x.status = res.result_int();
    bool const upgraded = x.status == 101;
    // The legacy hijack: attach/exec without Upgrade get 200 and a raw stream both ways.
    bool const raw_stream =
        x.status == 200 && !x.response->chunked() && !x.response->content_length() &&
        (x.operation == "ContainerAttach" || x.operation == "ExecStart") &&
        (res[bhttp::field::content_type] == "application/vnd.docker.raw-stream" ||
         res[bhttp::field::content_type] == "application/vnd.docker.multiplexed-stream");

    res.body().data = nullptr;
    res.body().size = 0;
    res.body().more = !x.response->is_done();
    x.response_writer.emplace(res);
    // A head with nothing behind it yet goes out at once (a stream may not produce a byte for
    // hours, and `docker run` waits on the head of /wait); otherwise head and the body bytes
    // already here leave together, in one record.
    if (upgraded || raw_stream || (!x.response->is_done() && daemon_buffer_.size() == 0)) {
        watchdog_.set(slot::client_write, limits.write_timeout);
        auto [hec, hn] = co_await bhttp::async_write_header(stream_, *x.response_writer, use_tuple);
        watchdog_.clear(slot::client_write);
        x.bytes_out += hn;
        if (hec) {
            audit(x);
            co_return false;
        }
    }

    if (upgraded || raw_stream) {
        co_await relay_upgraded(x);
        audit(x);
        co_return false;
    }

    // While a response streams (events, logs -f, /wait), notice a client that goes away: the
    // daemon's subscription must not outlive it. Only once the request body is all read, so
    // the two never read the client at the same time; and not when the whole body came with
    // the head (most answers), which leaves at once.
    auto const length = x.response->content_length();
    bool const body_here = length && daemon_buffer_.size() >= *length;
    if (x.body_finished && !x.response->is_done() && !body_here) {
        watching_ = true;
        asio::co_spawn(
            stream_.get_executor(),
            [self = this->shared_from_this(), gen = watch_generation_] {
                return self->watch_client(gen);
            },
            asio::detached);
    }
    bool const ok = co_await relay_response_body(x);
    if (watching_) {
        watching_ = false;
        ++watch_generation_;
        cancel_waits(stream_);
    }
    if (ok && !x.body_finished && !x.body_failed) {
        // Normally the body relay finished long before the response did; give it a moment.
        x.body_done->expires_after(close_grace);
        co_await x.body_done->async_wait(use_tuple);
    }
    audit(x);
    bool const complete = ok && x.body_finished && !x.body_failed;
    if (!complete || !x.response->keep_alive()) {
        error_code ec;
        upstream_.close(ec);
        upstream_ = asio::local::stream_protocol::socket(stream_.get_executor());
        upstream_open_ = false;
    }
    if (!complete) {
        // A request body may still be half-read from the client: the connection is unusable.
        shut_all();
        co_return false;
    }
    co_return x.request->keep_alive() && x.response->keep_alive();
}

// Streams the request body from the client to the daemon through a fixed buffer: a slow
// daemon slows the client down (backpressure), nothing piles up in memory.
template <class Stream>
asio::awaitable<void> http_session<Stream>::relay_request_body(std::shared_ptr<exchange> x) {
    auto const pin = snap_; // a reload may swap snap_ while this runs
    auto const& limits = pin->cfg->limits;
    auto& p = *x->request;
    auto& body = p.get().body();
    auto const owned = take_relay_buffer();
    char* const buf = owned.get();
    client_buffer_.reserve(relay_buffer_size); // see forward(): Beast reads what fits
    while (!closed_) {
        if (!p.is_done()) {
            body.data = buf;
            body.size = relay_buffer_size;
            watchdog_.set(slot::client_read, limits.idle_timeout);
            auto [ec, n] = co_await bhttp::async_read_some(stream_, client_buffer_, p, use_tuple);
            watchdog_.clear(slot::client_read);
            if (ec == bhttp::error::need_buffer)
                ec = {};
            if (ec) {
                x->body_failed = true;
                break;
            }
            x->bytes_in += n;
            body.size = relay_buffer_size - body.size;
            // An empty buffer must be null: a zero-length chunked write would end the body.
            body.data = body.size == 0 ? nullptr : buf;
            body.more = !p.is_done();
        } else {
            body.data = nullptr;
            body.size = 0;
            body.more = false;
        }
        watchdog_.set(slot::daemon_io, limits.write_timeout);
        auto [ec, n] = co_await bhttp::async_write(upstream_, *x->request_writer, use_tuple);
        watchdog_.clear(slot::daemon_io);
        if (ec == bhttp::error::need_buffer)
            ec = {};
        if (ec) {
            x->body_failed = true;
            break;
        }
        if (p.is_done() && x->request_writer->is_done()) {
            x->body_finished = true;
            break;
        }
    }
    if (x->body_failed && !closed_) {
        // The client vanished mid-body or the daemon stopped reading: neither side can
        // continue this exchange.
        error_code ec;
        upstream_.close(ec);
    }
    x->body_done->cancel();
}

template <class Stream>
asio::awaitable<bool> http_session<Stream>::relay_response_body(exchange& x) {
    auto const pin = snap_; // a reload may swap snap_ while this runs
    auto const& limits = pin->cfg->limits;
    auto& p = *x.response;
    auto& sr = *x.response_writer;
    auto& body = p.get().body();
    auto const owned = take_relay_buffer();
    char* const buf = owned.get();
    while (!sr.is_done()) {
        if (!p.is_done()) {
            body.data = buf;
            body.size = relay_buffer_size;
            // Long streams (events, logs -f, stats) may be quiet for hours: no read deadline.
            auto [ec, n] = co_await bhttp::async_read_some(upstream_, daemon_buffer_, p, use_tuple);
            if (ec == bhttp::error::need_buffer)
                ec = {};
            if (ec)
                co_return false;
            body.size = relay_buffer_size - body.size;
            // An empty buffer must be null: a zero-length chunked write would end the body.
            body.data = body.size == 0 ? nullptr : buf;
            body.more = !p.is_done();
        } else {
            body.data = nullptr;
            body.size = 0;
            body.more = false;
        }
        watchdog_.set(slot::client_write, limits.write_timeout);
        auto [ec, n] = co_await bhttp::async_write(stream_, sr, use_tuple);
        watchdog_.clear(slot::client_write);
        x.bytes_out += n;
        if (ec == bhttp::error::need_buffer)
            ec = {};
        if (ec)
            co_return false;
    }
    co_return true;
}

// After 101 (or the legacy 200 hijack) the connection is a byte pipe both ways. Each
// direction ends on EOF and passes it on as a half-close, so `echo hi | docker exec -i c cat`
// delivers EOF to cat and still receives its output.
template <class Stream>
asio::awaitable<void> http_session<Stream>::relay_upgraded(exchange& x) {
    auto const pin = snap_; // a reload may swap snap_ while this runs
    auto const& limits = pin->cfg->limits;
    // Bytes that arrived with the heads belong to the streams.
    x.body_finished = true;
    pump_done_.emplace(stream_.get_executor(), asio::steady_timer::time_point::max());
    pump_running_ = true;
    asio::co_spawn(
        stream_.get_executor(),
        [self = this->shared_from_this()] { return self->pump_client_to_daemon(); },
        asio::detached);

    auto const owned = take_relay_buffer();
    char* const buf = owned.get();
    if (daemon_buffer_.size() > 0) {
        watchdog_.set(slot::client_write, limits.write_timeout);
        auto [ec, n] = co_await asio::async_write(stream_, daemon_buffer_.data(), use_tuple);
        watchdog_.clear(slot::client_write);
        x.bytes_out += n;
        daemon_buffer_.consume(n);
        if (ec)
            co_return;
    }
    for (;;) {
        auto [ec, n] =
            co_await upstream_.async_read_some(asio::buffer(buf, relay_buffer_size), use_tuple);
        if (ec)
            break; // EOF: the process ended; anything else: the daemon went away
        watchdog_.set(slot::client_write, limits.write_timeout);
        auto [wec, wn] = co_await asio::async_write(stream_, asio::buffer(buf, n), use_tuple);
        watchdog_.clear(slot::client_write);
        x.bytes_out += wn;
        if (wec)
            break;
    }
    // The daemon is done: pass EOF to the client (TCP FIN; a TLS close_notify would race the
    // read still pending in the other direction), let that direction wind down, then close.
    shutdown_send(stream_);
    if (pump_running_) {
        pump_done_->expires_after(close_grace);
        co_await pump_done_->async_wait(use_tuple);
    }
    shut_all();
}

template <class Stream>
asio::awaitable<void> http_session<Stream>::watch_client(std::uint64_t generation) {
    while (!closed_ && watching_ && generation == watch_generation_) {
        auto [ec] = co_await async_wait_readable(stream_, use_tuple);
        if (closed_ || generation != watch_generation_)
            co_return; // the response ended; the wait was cancelled
        int const state = ec ? 0 : peek_state(stream_);
        if (state == 1)
            co_return; // a pipelined request: it waits its turn, and reading resumes then
        if (state == 0) {
            spdlog::debug("conn {}: client went away during a streamed response; closing", id_);
            shut_all();
            co_return;
        }
    }
}

template <class Stream>
asio::awaitable<void> http_session<Stream>::pump_client_to_daemon() {
    co_await pump_client_to_daemon_loop();
    pump_running_ = false;
    pump_done_->cancel();
}

template <class Stream>
asio::awaitable<void> http_session<Stream>::pump_client_to_daemon_loop() {
    auto const pin = snap_; // a reload may swap snap_ while this runs
    auto const& limits = pin->cfg->limits;
    auto const owned = take_relay_buffer();
    char* const buf = owned.get();
    if (client_buffer_.size() > 0) {
        watchdog_.set(slot::daemon_io, limits.write_timeout);
        auto [ec, n] = co_await asio::async_write(upstream_, client_buffer_.data(), use_tuple);
        watchdog_.clear(slot::daemon_io);
        client_buffer_.consume(n);
        if (ec)
            co_return;
    }
    for (;;) {
        auto [ec, n] =
            co_await stream_.async_read_some(asio::buffer(buf, relay_buffer_size), use_tuple);
        if (ec) {
            if (!closed_) {
                // Client finished sending (or vanished): pass EOF on, keep the other direction.
                error_code ignored;
                upstream_.shutdown(asio::socket_base::shutdown_send, ignored);
            }
            co_return;
        }
        watchdog_.set(slot::daemon_io, limits.write_timeout);
        auto [wec, wn] = co_await asio::async_write(upstream_, asio::buffer(buf, n), use_tuple);
        watchdog_.clear(slot::daemon_io);
        if (wec)
            co_return;
    }
}

// A refused request's body is read and dropped (never forwarded) so that the client, still
// writing it, gets to read the refusal; past refused_body_limit the connection is closed
// after the reply instead.
// 429 with Retry-After and a message the docker CLI prints; over per_user_connections the
// connection closes after it.
template <class Stream>
asio::awaitable<bool> http_session<Stream>::refuse_limited(exchange& x, limits::refusal over) {
    auto const key = limits::limit_key(over.which);
    services_.metrics.count_limited(who_.user, key);
    x.result = policy::outcome::limited;
    x.rule = "limits." + std::string(key);
    std::ostringstream what;
    what << over.limit;
    switch (over.which) {
    case limits::limit_kind::connections:
        x.reason = "over limits.per_user_connections (" + what.str() + " open connections)";
        break;
    case limits::limit_kind::inflight:
        x.reason = "over limits.per_user_inflight (" + what.str() + " requests in progress)";
        break;
    case limits::limit_kind::rate:
        x.reason = "over limits.per_user_rate (" + what.str() + " requests per second)";
        break;
    }
    auto const retry = std::to_string(over.retry_after.count());
    x.reply_headers = "Retry-After: " + retry + "\r\n";
    limited_pause_ =
        std::min<std::chrono::steady_clock::duration>(over.retry_after, limited_pause_cap);
    co_return co_await refuse(
        x, 429, "dockgate: " + who_.user + " is " + x.reason + "; retry in " + retry + " s",
        over.which == limits::limit_kind::connections);
}

template <class Stream>
asio::awaitable<bool> http_session<Stream>::refuse(exchange& x, unsigned status,
                                                   std::string message, bool close) {
    auto const pin = snap_;
    auto const& limits = pin->cfg->limits;
    auto& p = *x.request;
    bool complete = p.is_done();
    if (!complete) {
        auto const owned = take_relay_buffer();
        std::uint64_t dropped = 0;
        while (!p.is_done() && dropped <= refused_body_limit) {
            p.get().body().data = owned.get();
            p.get().body().size = relay_buffer_size;
            watchdog_.set(slot::client_read, limits.idle_timeout);
            auto [ec, n] = co_await bhttp::async_read_some(stream_, client_buffer_, p, use_tuple);
            watchdog_.clear(slot::client_read);
            if (ec == bhttp::error::need_buffer)
                ec = {};
            if (ec)
                co_return false;
            dropped += n;
            x.bytes_in += n;
        }
        complete = p.is_done();
    }
    bool const keep = complete && p.keep_alive() && !close;
    co_await reply(x, status, message, !keep);
    co_return keep;
}

// The gateway's own 200 answer for the caller (a confined disk usage).
template <class Stream>
asio::awaitable<bool> http_session<Stream>::reply_locally(exchange& x, std::string const& json) {
    auto& p = *x.request;
    bool const keep = p.is_done() && p.keep_alive();
    x.status = 200;
    auto const text = http::local_json_reply(200, json, !keep, x.head_request);
    watchdog_.set(slot::client_write, snap_->cfg->limits.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(text), use_tuple);
    watchdog_.clear(slot::client_write);
    x.bytes_out += n;
    audit(x);
    co_return keep && !ec;
}

// Reads the whole request body (de-chunked) into x.replacement, up to `limit` bytes.
template <class Stream>
asio::awaitable<typename http_session<Stream>::body_read>
http_session<Stream>::read_whole_body(exchange& x, std::uint64_t limit) {
    auto const pin = snap_;
    auto& p = *x.request;
    auto const owned = take_relay_buffer();
    std::string body;
    while (!p.is_done()) {
        p.get().body().data = owned.get();
        p.get().body().size = relay_buffer_size;
        watchdog_.set(slot::client_read, pin->cfg->limits.idle_timeout);
        auto [ec, n] = co_await bhttp::async_read_some(stream_, client_buffer_, p, use_tuple);
        watchdog_.clear(slot::client_read);
        if (ec == bhttp::error::need_buffer)
            ec = {};
        if (ec)
            co_return body_read::failed;
        x.bytes_in += n;
        body.append(owned.get(), relay_buffer_size - p.get().body().size);
        if (body.size() > limit)
            co_return body_read::too_large;
    }
    x.replacement = std::move(body);
    co_return body_read::complete;
}

// GET of one daemon object for the admission, on a connection of its own (the client's may be
// mid-request). Status 0 when the daemon could not be asked or the reply was too large.
template <class Stream>
asio::awaitable<admission::daemon_reply>
http_session<Stream>::daemon_get(admission::lookup const& what) {
    auto const pin = snap_;
    asio::local::stream_protocol::socket socket(stream_.get_executor());
    watchdog_.set(slot::control, pin->cfg->limits.upstream_connect_timeout + lookup_timeout);
    auto const cec =
        co_await server::connect_unix(socket, pin->cfg->gateway.upstream_socket.string(),
                                      pin->cfg->limits.upstream_connect_timeout);
    if (cec) {
        watchdog_.clear(slot::control);
        co_return admission::daemon_reply{};
    }
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, what.path, 11};
    req.set(bhttp::field::host, "docker");
    req.set(bhttp::field::user_agent, "dockgate");
    req.keep_alive(false);
    auto [wec, wn] = co_await bhttp::async_write(socket, req, use_tuple);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(what.max_bytes);
    auto [rec, rn] = wec ? std::tuple{wec, std::size_t{0}}
                         : co_await bhttp::async_read(socket, buffer, parser, use_tuple);
    watchdog_.clear(slot::control);
    if (wec || rec)
        co_return admission::daemon_reply{};
    admission::daemon_reply out;
    out.status = parser.get().result_int();
    out.body = std::move(parser.get().body());
    co_return out;
}

template <class Stream>
asio::awaitable<void> http_session<Stream>::reply(exchange& x, unsigned status,
                                                  std::string const& message, bool close) {
    x.status = status;
    // The client may still be sending what was refused: let it read this before the close.
    linger_on_close_ = linger_on_close_ || (close && status >= 400);
    auto const text = http::local_reply(status, message, close, x.head_request, x.reply_headers);
    watchdog_.set(slot::client_write, snap_->cfg->limits.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(text), use_tuple);
    watchdog_.clear(slot::client_write);
    x.bytes_out += n;
    audit(x);
}

template <class Stream>
void http_session<Stream>::audit(exchange const& x) {
    auto const elapsed = std::chrono::steady_clock::now() - x.started_steady;
    services_.metrics.count_request(x.operation, x.result, elapsed);
    if (services_.audit == nullptr)
        return;
    audit::audit_record r;
    r.time = x.started;
    r.connection = id_;
    r.who = &who_;
    r.roles = &roles_;
    r.operation = x.operation;
    r.method = x.method;
    r.path = x.path;
    r.decision = x.result;
    r.role = x.role;
    r.rule = x.rule;
    if (x.result != policy::outcome::allow)
        r.reason = x.reason;
    r.request = x.request_facts;
    r.status = x.status;
    r.bytes_in = x.bytes_in;
    r.bytes_out = x.bytes_out;
    r.elapsed = elapsed;
    services_.audit->write(r);
}

} // namespace dockgate::session
