// The channels of an ssh_connection: opening them (libssh's callbacks, which only record),
// handing a dial-stdio channel to its session, refusing other requests, closing and giving
// them back; and the functions channel_stream calls to read and write them.

#include <algorithm>

#include <spdlog/spdlog.h>

#include "gateway/ssh/channel_entry.hpp"
#include "gateway/ssh/dial_stdio.hpp"
#include "gateway/ssh/ssh_connection.hpp"

namespace dockgate::ssh {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

ssh_connection::channel_entry* ssh_connection::entry_of(channel_state const& ch) {
    for (auto& e : channels_) {
        if (e->state.get() == &ch)
            return e.get();
    }
    return nullptr;
}

// Exit status, EOF and close, once; the channel stays with libssh until finish_entry().
void ssh_connection::close_channel(channel_entry& e, int exit_status) {
    auto& st = *e.state;
    if (st.ended)
        return;
    st.ended = true;
    if (auto* ch = static_cast<ssh_channel>(st.channel); ch != nullptr && alive()) {
        if (e.exec_seen)
            ssh_channel_request_send_exit_status(ch, exit_status);
        if (!st.sent_eof)
            ssh_channel_send_eof(ch);
        st.sent_eof = true;
        ssh_channel_close(ch);
    }
    st.read_ready.cancel();
    st.write_ready.cancel();
    kick();
}

void ssh_connection::released(channel_state const& ch) {
    if (auto* e = entry_of(ch)) {
        close_channel(*e, 0);
        e->released = true;
        kick();
    }
}

void ssh_connection::finish_entry(channel_entry& e) {
    close_channel(e, 0);
    if (auto* ch = static_cast<ssh_channel>(e.state->channel)) {
        e.state->channel = nullptr;
        // libssh keeps the channel until the client's close arrives, and must not call back
        // into the entry, which goes now.
        ssh_remove_channel_callbacks(ch, &e.callbacks);
        ssh_channel_free(ch);
    }
    ctx_->slots.release_session(user_);
    if (channels_.size() == 1)
        idle_since_ = clock::now();
}

void ssh_connection::refuse(channel_entry& e, std::string message) {
    spdlog::info("conn {} from {} (ssh {}): refused: {}", id_, peer_, user_,
                 message.substr(0, message.size() - 1));
    e.refusal = std::move(message);
}

void ssh_connection::start_session(channel_entry& e) {
    e.started = true;
    policy::identity who;
    who.user = user_;
    who.transport = "ssh";
    who.peer = peer_;
    who.credential = fingerprint_;
    auto const user = user_;
    auto const fp = fingerprint_;
    spdlog::debug("conn {} from {} (ssh {}): dial-stdio with key {}", id_, peer_, user_,
                  fingerprint_);
    ctx_->handoff(
        channel_stream(e.state, socket_.get_executor()), std::move(who),
        [user, fp](server::snapshot const& next) -> std::optional<std::string> {
            if (!next.ssh || !next.ssh->allows(user, fp))
                return "SSH key " + fp + " is no longer authorized for " + user;
            return std::nullopt;
        },
        registry_);
}

// --- libssh's channel callbacks: they record, settle() acts.

ssh_channel ssh_connection::on_channel_open(ssh_session session, void* self_ptr) {
    auto* self = static_cast<ssh_connection*>(self_ptr);
    if (!self->authenticated_ || self->draining_ || self->closed_)
        return nullptr;
    auto const& cfg = self->ctx_->cfg;
    if (self->channels_.size() >= cfg.max_channels_per_connection) {
        spdlog::info("conn {} from {} (ssh {}): channel refused: "
                     "listen.ssh.max_channels_per_connection ({}) are open",
                     self->id_, self->peer_, self->user_, cfg.max_channels_per_connection);
        return nullptr;
    }
    auto const snap = self->ctx_->current();
    if (!(snap->ssh && snap->ssh->allows(self->user_, self->fingerprint_)))
        return nullptr; // revoked: the reload's re-check closes the connection
    if (auto const limit = self->ctx_->slots.take_session(self->user_)) {
        spdlog::warn("conn {} from {} (ssh {}): channel refused: {} reached", self->id_,
                     self->peer_, self->user_, *limit);
        return nullptr;
    }
    auto* ch = ssh_channel_new(session);
    if (ch == nullptr) {
        self->ctx_->slots.release_session(self->user_);
        return nullptr;
    }
    auto e = std::make_unique<channel_entry>();
    e->connection = self;
    e->state = std::make_shared<channel_state>(self->socket_.get_executor());
    e->state->connection = self;
    e->state->channel = ch;
    e->exec_by = clock::now() + snap->cfg->limits.handshake_timeout;
    auto& cb = e->callbacks;
    cb.userdata = e.get();
    cb.channel_data_function = &ssh_connection::on_data;
    cb.channel_eof_function = &ssh_connection::on_eof;
    cb.channel_close_function = &ssh_connection::on_close;
    cb.channel_exec_request_function = &ssh_connection::on_exec;
    cb.channel_shell_request_function = &ssh_connection::on_shell;
    cb.channel_subsystem_request_function = &ssh_connection::on_subsystem;
    cb.channel_pty_request_function = &ssh_connection::on_pty;
    cb.channel_env_request_function = &ssh_connection::on_env;
    ssh_callbacks_init(&cb);
    ssh_set_channel_callbacks(ch, &cb);
    self->channels_.push_back(std::move(e));
    self->idle_since_ = {};
    return ch;
}

// The bytes stay in libssh's buffer (nothing consumed) until the stream reads them; `len` is
// all that is buffered. The client's stderr carries nothing for us: dropped.
int ssh_connection::on_data(ssh_session, ssh_channel, void*, uint32_t len, int is_stderr,
                            void* entry) {
    auto* e = static_cast<channel_entry*>(entry);
    if (is_stderr != 0)
        return static_cast<int>(len);
    e->state->available = len;
    return 0;
}

void ssh_connection::on_eof(ssh_session, ssh_channel, void* entry) {
    static_cast<channel_entry*>(entry)->state->peer_eof = true;
}

void ssh_connection::on_close(ssh_session, ssh_channel, void* entry) {
    auto* e = static_cast<channel_entry*>(entry);
    e->state->peer_eof = true;
    if (!e->started)
        e->released = true; // nothing else holds it
}

int ssh_connection::on_exec(ssh_session, ssh_channel, char const* command, void* entry) {
    auto* e = static_cast<channel_entry*>(entry);
    bool const again = e->exec_seen;
    e->exec_seen = true;
    if (again || !is_dial_stdio(command)) {
        e->connection->refuse(*e, std::string("dockgate: this endpoint serves the docker CLI only "
                                              "(DOCKER_HOST=ssh://...); the command \"") +
                                      std::string(command).substr(0, 200) +
                                      "\" is not available\n");
        return 0; // accepted only to say why nothing runs
    }
    e->exec_accepted = true;
    return 0;
}

int ssh_connection::on_shell(ssh_session, ssh_channel, void* entry) {
    auto* e = static_cast<channel_entry*>(entry);
    e->exec_seen = true;
    e->connection->refuse(*e, "dockgate: interactive shells are not available here; use this "
                              "host as DOCKER_HOST=ssh://...\n");
    return 0;
}

int ssh_connection::on_subsystem(ssh_session, ssh_channel, char const* name, void* entry) {
    auto* e = static_cast<channel_entry*>(entry);
    e->exec_seen = true;
    e->connection->refuse(*e, "dockgate: subsystem \"" + std::string(name).substr(0, 100) +
                                  "\" is not available here\n");
    return 0;
}

int ssh_connection::on_pty(ssh_session, ssh_channel, char const*, int, int, int, int, void*) {
    return -1;
}

int ssh_connection::on_env(ssh_session, ssh_channel, char const*, char const*, void*) {
    return -1;
}

// --- what channel_stream calls

namespace detail {

namespace {

ssh_connection::channel_entry* live(channel_state& ch) {
    return ch.connection == nullptr ? nullptr : ch.connection->entry_of(ch);
}

} // namespace

attempt read_some(channel_state& ch, void* data, std::size_t size, error_code& ec, std::size_t& n) {
    if (ch.available > 0 && ch.channel != nullptr) {
        auto const want = static_cast<uint32_t>(std::min(size, ch.available));
        int const got = ssh_channel_read(static_cast<ssh_channel>(ch.channel), data, want, 0);
        ch.connection->kick(); // the window it may have reopened goes out
        if (got > 0) {
            ch.available -= static_cast<std::size_t>(got);
            n = static_cast<std::size_t>(got);
            return attempt::done;
        }
        ch.available = 0;
        if (got < 0) {
            ec = asio::error::broken_pipe;
            return attempt::done;
        }
    }
    if (ch.peer_eof || ch.ended || ch.channel == nullptr) {
        ec = asio::error::eof;
        return attempt::done;
    }
    return attempt::wait;
}

attempt write_room(channel_state& ch, error_code& ec, std::size_t& room) {
    if (ch.ended || ch.sent_eof || ch.channel == nullptr) {
        ec = asio::error::broken_pipe;
        return attempt::done;
    }
    // The previous write is still in libssh's output buffer: no more until the socket took it.
    if (ch.connection->write_pending())
        return attempt::wait;
    room = ssh_channel_window_size(static_cast<ssh_channel>(ch.channel));
    return room == 0 ? attempt::wait : attempt::done;
}

void write(channel_state& ch, void const* data, std::size_t size, error_code& ec, std::size_t& n) {
    int const put =
        ssh_channel_write(static_cast<ssh_channel>(ch.channel), data, static_cast<uint32_t>(size));
    ch.connection->kick();
    if (put < 0)
        ec = asio::error::broken_pipe;
    else
        n = static_cast<std::size_t>(put);
}

int peek(channel_state const& ch) {
    if (ch.available > 0 && ch.channel != nullptr)
        return 1;
    return ch.peer_eof || ch.ended || ch.channel == nullptr ? 0 : -1;
}

void send_eof(channel_state& ch) {
    if (ch.ended || ch.sent_eof || ch.channel == nullptr)
        return;
    ch.sent_eof = true;
    ssh_channel_send_eof(static_cast<ssh_channel>(ch.channel));
    ch.connection->kick();
}

void close(channel_state& ch) {
    if (auto* e = live(ch))
        ch.connection->close_channel(*e, 0);
    ch.ended = true;
    ch.read_ready.cancel();
    ch.write_ready.cancel();
}

void release(std::shared_ptr<channel_state> const& ch) {
    if (ch->connection != nullptr)
        ch->connection->released(*ch);
}

std::shared_ptr<void> keep_alive(channel_state& ch) {
    return ch.connection->shared_from_this();
}

} // namespace detail

} // namespace dockgate::ssh
