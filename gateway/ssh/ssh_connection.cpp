#include "gateway/ssh/ssh_connection.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "gateway/ssh/channel_entry.hpp"

namespace dockgate::ssh {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

// One turn of the event loop reads at most this many times from one connection (libssh reads
// 4 KiB at a time), then lets the worker's other connections have their turn.
constexpr int polls_per_turn = 64;

} // namespace

ssh_context::~ssh_context() {
    if (bind != nullptr)
        ssh_bind_free(bind);
}

void ssh_connection::start(std::shared_ptr<ssh_context> ctx, asio::ip::tcp::socket socket,
                           server::session_registry& registry) {
    auto& services = ctx->services;
    auto const id = services.next_connection_id.fetch_add(1, std::memory_order_relaxed);
    std::string address = "?", peer = "?";
    error_code ec;
    if (auto ep = socket.remote_endpoint(ec); !ec) {
        address = ep.address().to_string();
        peer = address + ":" + std::to_string(ep.port());
    }
    if (!ctx->slots.take_handshake(address)) {
        spdlog::info("conn {} from {} (ssh): refused: listen.ssh.max_handshakes_per_address ({}) "
                     "connections from {} are still in their handshake",
                     id, peer, ctx->cfg.max_handshakes_per_address, address);
        services.metrics.count_handshake_failure(server::handshake_failure::limit);
        socket.close(ec);
        services.open_connections.fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    auto c = std::make_shared<ssh_connection>(std::move(ctx), std::move(socket), registry, id,
                                              std::move(address), std::move(peer));
    c->begin();
}

ssh_connection::ssh_connection(std::shared_ptr<ssh_context> ctx, asio::ip::tcp::socket socket,
                               server::session_registry& registry, std::uint64_t id,
                               std::string address, std::string peer)
    : ctx_(std::move(ctx))
    , socket_(std::move(socket))
    , registry_(registry)
    , id_(id)
    , address_(std::move(address))
    , peer_(std::move(peer))
    , deadline_(socket_.get_executor()) {
    registry_.insert(this);
}

// Only std::bad_alloc can escape close_connection(); terminating is then the safe outcome, as a
// connection left in the registry half closed would be reached after it is gone.
// NOLINTNEXTLINE(bugprone-exception-escape)
ssh_connection::~ssh_connection() {
    close_connection(nullptr);
    if (event_ != nullptr)
        ssh_event_free(event_);
    if (session_ != nullptr)
        ssh_free(session_);
}

bool ssh_connection::alive() const {
    return !closed_ && session_ != nullptr && ssh_is_connected(session_) != 0;
}

void ssh_connection::begin() {
    auto const snap = ctx_->current();
    auth_by_ = clock::now() + snap->cfg->limits.handshake_timeout;
    error_code ec;
    socket_.non_blocking(true, ec);
    // libssh sends a packet per send(2): without this, Nagle holds the second of two packets
    // for the client's delayed ACK (40 ms on Linux), on every round trip. Without it the
    // connection still works, only slower: its error is not the connection's.
    error_code nodelay_ec;
    socket_.set_option(asio::ip::tcp::no_delay(true), nodelay_ec);
    session_ = ssh_new();
    if (session_ == nullptr || ec)
        return close_connection("cannot set up the SSH session");
    int accepted;
    {
        std::lock_guard lock(ctx_->bind_mutex);
        accepted = ssh_bind_accept_fd(ctx_->bind, session_, socket_.native_handle());
    }
    if (accepted != SSH_OK)
        return close_connection(ssh_get_error(ctx_->bind));
    libssh_owns_fd_ = true;
    ssh_set_blocking(session_, 0);
    ssh_set_auth_methods(session_, SSH_AUTH_METHOD_PUBLICKEY);
    server_cb_.userdata = this;
    server_cb_.auth_pubkey_function = &ssh_connection::on_auth_pubkey;
    server_cb_.channel_open_request_session_function = &ssh_connection::on_channel_open;
    ssh_callbacks_init(&server_cb_);
    ssh_set_server_callbacks(session_, &server_cb_);
    // Sends the banner and sets up the key exchange, which the packets drive from here on.
    if (ssh_handle_key_exchange(session_) == SSH_ERROR) {
        ctx_->services.metrics.count_handshake_failure(server::handshake_failure::protocol);
        return close_connection("key exchange failed");
    }
    event_ = ssh_event_new();
    if (event_ == nullptr || ssh_event_add_session(event_, session_) != SSH_OK)
        return close_connection("cannot set up the SSH session");
    drive();
}

// Lets libssh read and write what the socket allows now (poll() with no wait: libssh treats a
// read that would block as a lost connection, so it only reads what poll() reported).
void ssh_connection::drive() {
    kicked_ = false;
    if (closed_)
        return;
    int turns = 0;
    for (; turns < polls_per_turn; ++turns) {
        int const rc = ssh_event_dopoll(event_, 0);
        if (rc == SSH_AGAIN)
            break;
        if (rc == SSH_ERROR || !alive())
            break;
    }
    if (turns == polls_per_turn)
        kick(); // more is waiting: after the other connections' turn
    settle();
}

void ssh_connection::kick() {
    if (kicked_ || closed_)
        return;
    kicked_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->drive(); });
}

bool ssh_connection::write_pending() const {
    return (ssh_get_poll_flags(session_) & SSH_WRITE_PENDING) != 0;
}

// What follows from what libssh reported, now that it has returned.
void ssh_connection::settle() {
    if (closed_)
        return;
    if (!alive()) {
        if (!authenticated_ && !failed_auth_)
            ctx_->services.metrics.count_handshake_failure(server::handshake_failure::protocol);
        return close_connection(authenticated_ ? nullptr : "the client left during the handshake");
    }
    if (failed_auth_)
        return close_connection("too many failed key attempts");
    // Streams may release entries while sessions start: walk by index over a stable vector.
    for (std::size_t i = 0; i < channels_.size(); ++i) {
        auto& e = *channels_[i];
        if (!e.refusal.empty() && !e.state->ended) {
            auto const message = std::move(e.refusal);
            e.refusal.clear();
            if (auto* ch = static_cast<ssh_channel>(e.state->channel)) {
                ssh_channel_write_stderr(ch, message.data(), static_cast<uint32_t>(message.size()));
                close_channel(e, 1);
            }
            e.released = true;
        }
        if (e.exec_accepted && !e.started && !e.state->ended)
            start_session(e);
        bool const write_ok =
            e.state->channel == nullptr || e.state->ended ||
            (ssh_channel_window_size(static_cast<ssh_channel>(e.state->channel)) > 0 &&
             !write_pending());
        if (e.state->available > 0 || e.state->peer_eof || e.state->ended)
            e.state->read_ready.cancel();
        if (write_ok)
            e.state->write_ready.cancel();
    }
    for (std::size_t i = 0; i < channels_.size();) {
        if (channels_[i]->released) {
            finish_entry(*channels_[i]);
            channels_.erase(channels_.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
            ++i;
        }
    }
    if (channels_.empty() && idle_since_ == clock::time_point{})
        idle_since_ = clock::now();
    if (draining_ && channels_.empty())
        return close_connection(nullptr);
    check_deadlines();
    if (closed_)
        return;
    wait_socket();
    rearm_deadline();
}

void ssh_connection::wait_socket() {
    if (!read_waiting_) {
        read_waiting_ = true;
        socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](error_code) {
            self->read_waiting_ = false;
            self->drive();
        });
    }
    if (!write_waiting_ && write_pending()) {
        write_waiting_ = true;
        socket_.async_wait(asio::socket_base::wait_write, [self = shared_from_this()](error_code) {
            self->write_waiting_ = false;
            self->drive();
        });
    }
}

void ssh_connection::check_deadlines() {
    auto const now = clock::now();
    if (!authenticated_) {
        if (now >= auth_by_) {
            ctx_->services.metrics.count_handshake_failure(server::handshake_failure::timeout);
            close_connection("no authentication within limits.handshake_timeout");
        }
        return;
    }
    for (auto& e : channels_) {
        if (!e->exec_seen && !e->released && now >= e->exec_by) {
            spdlog::info("conn {} from {} (ssh {}): a channel made no request within "
                         "limits.handshake_timeout; closing it",
                         id_, peer_, user_);
            close_channel(*e, 1);
            e->released = true;
            kick();
        }
    }
    auto const snap = ctx_->current();
    if (channels_.empty() && now - idle_since_ >= snap->cfg->limits.idle_timeout) {
        spdlog::debug("conn {} from {} (ssh {}): no channel for limits.idle_timeout; closing", id_,
                      peer_, user_);
        close_connection(nullptr);
    }
}

void ssh_connection::rearm_deadline() {
    auto next = clock::time_point::max();
    if (!authenticated_) {
        next = auth_by_;
    } else {
        for (auto const& e : channels_) {
            if (!e->exec_seen && !e->released)
                next = std::min(next, e->exec_by);
        }
        if (channels_.empty())
            next = std::min(next, idle_since_ + ctx_->current()->cfg->limits.idle_timeout);
    }
    if (next == armed_)
        return;
    armed_ = next;
    if (next == clock::time_point::max()) {
        deadline_.cancel();
        return;
    }
    deadline_.expires_at(next);
    deadline_.async_wait([weak = weak_from_this()](error_code ec) {
        auto self = weak.lock();
        if (ec || !self)
            return;
        self->armed_ = clock::time_point::max();
        self->settle();
    });
}

// Ends the connection and every channel of it. `why`: logged when set.
void ssh_connection::close_connection(char const* why) {
    if (closed_)
        return;
    closed_ = true;
    if (why != nullptr)
        spdlog::info("conn {} from {} (ssh{}{}): closing: {}", id_, peer_, user_.empty() ? "" : " ",
                     user_, why);
    if (holds_handshake_) {
        holds_handshake_ = false;
        ctx_->slots.release_handshake(address_);
    }
    for (auto& e : channels_) {
        // ssh_disconnect() frees libssh's channels: the streams must not touch them after.
        if (auto* ch = static_cast<ssh_channel>(e->state->channel))
            ssh_remove_channel_callbacks(ch, &e->callbacks);
        e->state->channel = nullptr;
        e->state->ended = true;
        e->state->read_ready.cancel();
        e->state->write_ready.cancel();
        ctx_->slots.release_session(user_);
    }
    channels_.clear();
    error_code ec;
    deadline_.cancel();
    // Asio lets go of the descriptor first (libssh closes it): nothing may wait on a number
    // the process could hand out again.
    if (libssh_owns_fd_ && socket_.is_open())
        (void)socket_.release(ec);
    else
        socket_.close(ec);
    if (session_ != nullptr)
        ssh_disconnect(session_);
    registry_.erase(this);
    ctx_->services.open_connections.fetch_sub(1, std::memory_order_relaxed);
}

void ssh_connection::drain() {
    draining_ = true;
    if (channels_.empty())
        close_connection(nullptr);
}

void ssh_connection::abort() {
    close_connection(nullptr);
}

void ssh_connection::revalidate(std::shared_ptr<server::snapshot const> next) {
    if (closed_ || !authenticated_)
        return;
    if (!next->ssh || !next->ssh->allows(user_, fingerprint_)) {
        auto const why = "SSH key " + fingerprint_ + " is no longer authorized for " + user_;
        close_connection(why.c_str());
    }
}

// --- libssh's authentication callback: it records, settle() acts.

int ssh_connection::on_auth_pubkey(ssh_session, char const* user, ssh_key_struct* key, char state,
                                   void* self_ptr) {
    auto* self = static_cast<ssh_connection*>(self_ptr);
    if (self->authenticated_)
        return SSH_AUTH_DENIED;
    auto const snap = self->ctx_->current();
    std::string const fp = key_fingerprint(key);
    if (!(snap->ssh && snap->ssh->allows(user, fp))) {
        if (++self->auth_failures_ >= self->ctx_->cfg.max_auth_tries) {
            spdlog::info("conn {} from {} (ssh): {} failed key attempts for \"{}\"", self->id_,
                         self->peer_, self->auth_failures_, user);
            self->ctx_->services.metrics.count_handshake_failure(
                server::handshake_failure::untrusted);
            self->failed_auth_ = true;
        }
        return SSH_AUTH_DENIED;
    }
    if (state == SSH_PUBLICKEY_STATE_NONE)
        return SSH_AUTH_SUCCESS; // "this key would do": the client now signs with it
    if (state != SSH_PUBLICKEY_STATE_VALID)
        return SSH_AUTH_DENIED;
    self->user_ = user;
    self->fingerprint_ = fp;
    self->authenticated_ = true;
    self->idle_since_ = clock::now();
    if (self->holds_handshake_) {
        self->holds_handshake_ = false;
        self->ctx_->slots.release_handshake(self->address_);
    }
    return SSH_AUTH_SUCCESS;
}

} // namespace dockgate::ssh
