#include "gateway/ssh/ssh_server.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <poll.h>
#include <set>
#include <sys/socket.h>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <spdlog/spdlog.h>

namespace dockgate::ssh {

namespace {

constexpr int poll_ms = 200; // how often a connection notices it was asked to stop
constexpr std::size_t pump_size = 64 * 1024;

// The forms the docker CLI sends (checked against CLI 20.10 and 28):
//   docker system dial-stdio
//   docker --host unix:///path/docker.sock system dial-stdio   (ssh://user@host/path URLs)
bool is_dial_stdio(std::string const& command) {
    std::vector<std::string> words;
    std::size_t at = 0;
    while (at < command.size()) {
        auto const start = command.find_first_not_of(' ', at);
        if (start == std::string::npos)
            break;
        auto const end = command.find(' ', start);
        words.push_back(
            command.substr(start, end == std::string::npos ? std::string::npos : end - start));
        at = end == std::string::npos ? command.size() : end;
    }
    auto is_host = [](std::string const& w) {
        return w.rfind("unix:///", 0) == 0 && w.size() < 4096;
    };
    if (words == std::vector<std::string>{"docker", "system", "dial-stdio"})
        return true;
    if (words.size() == 5 && words[0] == "docker" && (words[1] == "--host" || words[1] == "-H") &&
        is_host(words[2]) && words[3] == "system" && words[4] == "dial-stdio")
        return true;
    return words.size() == 4 && words[0] == "docker" && words[1].rfind("--host=", 0) == 0 &&
           is_host(words[1].substr(7)) && words[2] == "system" && words[3] == "dial-stdio";
}

} // namespace

struct ssh_server::state {
    config::ssh_listener cfg;
    std::function<std::shared_ptr<server::snapshot const>()> current;
    server::services& services;
    stream_handoff handoff;
    ssh_bind bind = nullptr;
    std::mutex mutex; // guards bind (accept), sessions, per_user
    unsigned sessions = 0;
    std::map<std::string, unsigned> per_user;
    std::atomic<bool> stopping{false};
    // Connection threads still running, and a duplicate of each one's socket: stop() shuts the
    // sockets down (ending blocking key exchanges at once) and the server waits for them, so
    // no thread outlives the libraries it uses.
    std::mutex threads_mutex;
    std::condition_variable threads_done;
    std::set<int> live_sockets;

    state(config::ssh_listener c, std::function<std::shared_ptr<server::snapshot const>()> cur,
          server::services& s, stream_handoff h)
        : cfg(std::move(c))
        , current(std::move(cur))
        , services(s)
        , handoff(std::move(h)) {}
    ~state() {
        if (bind != nullptr)
            ssh_bind_free(bind);
    }
};

namespace {

// One SSH connection, run on its own thread from key exchange to disconnect.
class connection {
public:
    connection(std::shared_ptr<ssh_server::state> st, int fd, std::string peer, std::uint64_t id)
        : st_(std::move(st))
        , fd_(fd)
        , peer_(std::move(peer))
        , id_(id) {}

    void run() {
        session_ = ssh_new();
        if (session_ == nullptr) {
            ::close(fd_);
            return;
        }
        {
            std::lock_guard lock(st_->mutex);
            if (ssh_bind_accept_fd(st_->bind, session_, fd_) != SSH_OK) {
                spdlog::info("conn {} from {} (ssh): {}", id_, peer_, ssh_get_error(st_->bind));
                ::close(fd_);
                ssh_free(session_);
                return;
            }
        }
        serve();
        if (authenticated_slot_)
            release_slot();
        ssh_disconnect(session_);
        if (event_ != nullptr) {
            // ssh_event_free() leaves the wrapper ssh_event_add_fd() allocated: remove first.
            if (pair_ >= 0 && !pair_eof_)
                ssh_event_remove_fd(event_, pair_);
            ssh_event_free(event_);
        }
        ssh_free(session_);
        if (pair_ >= 0)
            ::close(pair_);
    }

private:
    void serve() {
        auto const snap = st_->current();
        long const timeout_s = std::max<long>(
            1, std::chrono::duration_cast<std::chrono::seconds>(snap->cfg->limits.handshake_timeout)
                   .count());
        ssh_options_set(session_, SSH_OPTIONS_TIMEOUT, &timeout_s);
        ssh_set_auth_methods(session_, SSH_AUTH_METHOD_PUBLICKEY);
        server_cb_.userdata = this;
        server_cb_.auth_pubkey_function = &connection::on_auth_pubkey;
        server_cb_.channel_open_request_session_function = &connection::on_channel_open;
        ssh_callbacks_init(&server_cb_);
        ssh_set_server_callbacks(session_, &server_cb_);
        if (ssh_handle_key_exchange(session_) != SSH_OK) {
            st_->services.metrics.count_handshake_failure(server::handshake_failure::protocol);
            spdlog::info("conn {} from {} (ssh): key exchange failed: {}", id_, peer_,
                         ssh_get_error(session_));
            return;
        }
        event_ = ssh_event_new();
        ssh_event_add_session(event_, session_);
        // Authentication and the exec request, within the handshake deadline.
        auto const deadline =
            std::chrono::steady_clock::now() + snap->cfg->limits.handshake_timeout;
        while (!exec_accepted_ && !failed_ && !st_->stopping) {
            if (std::chrono::steady_clock::now() > deadline) {
                st_->services.metrics.count_handshake_failure(server::handshake_failure::timeout);
                spdlog::info("conn {} from {} (ssh): no authenticated dial-stdio request within "
                             "limits.handshake_timeout",
                             id_, peer_);
                return;
            }
            if (ssh_event_dopoll(event_, poll_ms) == SSH_ERROR || !ssh_is_connected(session_))
                return;
        }
        if (!pending_refusal_.empty())
            finish_refusal();
        else if (exec_accepted_ && !failed_)
            pump();
    }

    static int on_auth_pubkey(ssh_session, char const* user, ssh_key_struct* key, char state,
                              void* self_ptr) {
        auto* self = static_cast<connection*>(self_ptr);
        auto const snap = self->st_->current();
        std::string const fp = key_fingerprint(key);
        bool const known = snap->ssh && snap->ssh->allows(user, fp);
        if (!known) {
            if (++self->auth_failures_ >= self->st_->cfg.max_auth_tries) {
                spdlog::info(
                    "conn {} from {} (ssh): {} failed key attempts for \"{}\"; disconnecting",
                    self->id_, self->peer_, self->auth_failures_, user);
                self->st_->services.metrics.count_handshake_failure(
                    server::handshake_failure::untrusted);
                self->failed_ = true;
            }
            return SSH_AUTH_DENIED;
        }
        if (state == SSH_PUBLICKEY_STATE_NONE)
            return SSH_AUTH_SUCCESS; // "this key would do": the client now signs with it
        if (state != SSH_PUBLICKEY_STATE_VALID)
            return SSH_AUTH_DENIED;
        if (!self->take_slot(user))
            return SSH_AUTH_DENIED;
        self->user_ = user;
        self->fingerprint_ = fp;
        self->authenticated_ = true;
        return SSH_AUTH_SUCCESS;
    }

    static ssh_channel on_channel_open(ssh_session session, void* self_ptr) {
        auto* self = static_cast<connection*>(self_ptr);
        if (!self->authenticated_ || self->channel_ != nullptr)
            return nullptr;
        self->channel_ = ssh_channel_new(session);
        self->channel_cb_.userdata = self;
        self->channel_cb_.channel_exec_request_function = &connection::on_exec;
        self->channel_cb_.channel_shell_request_function = &connection::on_shell;
        self->channel_cb_.channel_subsystem_request_function = &connection::on_subsystem;
        self->channel_cb_.channel_pty_request_function = &connection::on_pty;
        self->channel_cb_.channel_env_request_function = &connection::on_env;
        ssh_callbacks_init(&self->channel_cb_);
        ssh_set_channel_callbacks(self->channel_, &self->channel_cb_);
        return self->channel_;
    }

    static int on_exec(ssh_session, ssh_channel, char const* command, void* self_ptr) {
        auto* self = static_cast<connection*>(self_ptr);
        if (self->exec_accepted_ || !is_dial_stdio(command)) {
            self->refuse(
                std::string(
                    "dockgate: this endpoint serves the docker CLI only (DOCKER_HOST=ssh://...); "
                    "the command \"") +
                std::string(command).substr(0, 200) + "\" is not available\n");
            return 0;
        }
        self->exec_accepted_ = true;
        return 0;
    }
    static int on_shell(ssh_session, ssh_channel, void* self_ptr) {
        static_cast<connection*>(self_ptr)->refuse(
            "dockgate: interactive shells are not available here; use this host as "
            "DOCKER_HOST=ssh://...\n");
        return 0;
    }
    static int on_subsystem(ssh_session, ssh_channel, char const* name, void* self_ptr) {
        static_cast<connection*>(self_ptr)->refuse("dockgate: subsystem \"" +
                                                   std::string(name).substr(0, 100) +
                                                   "\" is not available here\n");
        return 0;
    }
    static int on_pty(ssh_session, ssh_channel, char const*, int, int, int, int, void*) {
        return -1;
    }
    static int on_env(ssh_session, ssh_channel, char const*, char const*, void*) { return -1; }

    // Accepts the request only to say why nothing will run, then ends the session.
    void refuse(std::string const& message) {
        spdlog::info("conn {} from {} (ssh {}): refused: {}", id_, peer_, user_,
                     message.substr(0, message.size() - 1));
        pending_refusal_ = message;
        failed_ = true;
    }

    void finish_refusal() {
        if (channel_ == nullptr || pending_refusal_.empty())
            return;
        ssh_channel_write_stderr(channel_, pending_refusal_.data(),
                                 static_cast<uint32_t>(pending_refusal_.size()));
        ssh_channel_request_send_exit_status(channel_, 1);
        ssh_channel_send_eof(channel_);
        ssh_channel_close(channel_);
        linger();
    }

    bool take_slot(std::string const& user) {
        std::lock_guard lock(st_->mutex);
        auto& mine = st_->per_user[user];
        if (st_->sessions >= st_->cfg.max_sessions || mine >= st_->cfg.max_sessions_per_user) {
            spdlog::warn(
                "conn {} from {} (ssh {}): session limit reached (listen.ssh.max_sessions{})", id_,
                peer_, user, mine >= st_->cfg.max_sessions_per_user ? "_per_user" : "");
            return false;
        }
        ++st_->sessions;
        ++mine;
        authenticated_slot_ = true;
        slot_user_ = user;
        return true;
    }

    void release_slot() {
        std::lock_guard lock(st_->mutex);
        --st_->sessions;
        if (--st_->per_user[slot_user_] == 0)
            st_->per_user.erase(slot_user_);
    }

    static int on_pair_readable(socket_t fd, int revents, void* self_ptr) {
        auto* self = static_cast<connection*>(self_ptr);
        if ((revents & (POLLIN | POLLHUP | POLLERR)) == 0)
            return 0;
        char buf[pump_size];
        ssize_t const n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            if (ssh_channel_write(self->channel_, buf, static_cast<uint32_t>(n)) == SSH_ERROR)
                self->done_ = true;
            return 0;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            // The session ended (response done, policy closed it, or shutdown): end the channel.
            self->pair_eof_ = true;
            ssh_event_remove_fd(self->event_, fd);
        }
        return 0;
    }

    // Bytes both ways between the channel and the session's socketpair, with backpressure:
    // channel data is only read (and the SSH window reopened) when the socketpair takes it.
    void pump() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
            spdlog::error("conn {} (ssh): socketpair: {}", id_,
                          std::generic_category().message(errno));
            return;
        }
        pair_ = fds[1];
        ::fcntl(pair_, F_SETFL, ::fcntl(pair_, F_GETFL) | O_NONBLOCK);
        policy::identity who;
        who.user = user_;
        who.transport = "ssh";
        who.peer = peer_;
        who.credential = fingerprint_;
        auto const user = user_;
        auto const fp = fingerprint_;
        st_->handoff(fds[0], std::move(who),
                     [user, fp](server::snapshot const& next) -> std::optional<std::string> {
                         if (!next.ssh || !next.ssh->allows(user, fp))
                             return std::string("SSH key ") + fp + " is no longer authorized for " +
                                    user;
                         return std::nullopt;
                     });
        spdlog::debug("conn {} from {} (ssh {}): dial-stdio with key {}", id_, peer_, user_,
                      fingerprint_);
        ssh_event_add_fd(event_, pair_, POLLIN, &connection::on_pair_readable, this);

        std::vector<char> pending;
        std::size_t pending_at = 0;
        std::vector<char> buf(pump_size);
        bool write_side_closed = false;
        while (!done_ && !st_->stopping && ssh_is_connected(session_)) {
            // Channel -> session: read only what the socketpair can take right now.
            for (;;) {
                if (pending_at == pending.size()) {
                    pending.clear();
                    pending_at = 0;
                    int const n = ssh_channel_read_nonblocking(
                        channel_, buf.data(), static_cast<uint32_t>(buf.size()), 0);
                    if (n == SSH_ERROR) {
                        done_ = true;
                        break;
                    }
                    if (n <= 0)
                        break;
                    pending.assign(buf.data(), buf.data() + n);
                }
                ssize_t const w = ::send(pair_, pending.data() + pending_at,
                                         pending.size() - pending_at, MSG_NOSIGNAL);
                if (w < 0) {
                    if (errno != EAGAIN && errno != EINTR)
                        done_ = true;
                    break;
                }
                pending_at += static_cast<std::size_t>(w);
            }
            if (!write_side_closed && pending_at == pending.size() &&
                ssh_channel_is_eof(channel_) && ssh_channel_poll(channel_, 0) <= 0) {
                ::shutdown(pair_, SHUT_WR); // the client finished sending: pass the EOF on
                write_side_closed = true;
            }
            if (pair_eof_ || ssh_channel_is_closed(channel_))
                break;
            // Wake for SSH traffic, session output, or room in the socketpair.
            if (pending_at != pending.size()) {
                pollfd p{pair_, POLLOUT, 0};
                ::poll(&p, 1, 0);
                if ((p.revents & POLLOUT) != 0)
                    continue;
            }
            if (ssh_event_dopoll(event_, pending_at != pending.size() ? 10 : poll_ms) == SSH_ERROR)
                break;
        }
        if (!ssh_channel_is_closed(channel_)) {
            ssh_channel_request_send_exit_status(channel_, 0);
            ssh_channel_send_eof(channel_);
            ssh_channel_close(channel_);
        }
        linger();
    }

    // The client ends the connection itself once its channel is closed; a disconnect from this
    // side first would make `ssh` exit 255 and the docker CLI print its complaint.
    void linger() {
        auto const until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (ssh_is_connected(session_) && std::chrono::steady_clock::now() < until &&
               !st_->stopping) {
            if (ssh_event_dopoll(event_, 50) == SSH_ERROR)
                break;
        }
    }

    std::shared_ptr<ssh_server::state> st_;
    int fd_;
    std::string peer_;
    std::uint64_t id_;
    ssh_session session_ = nullptr;
    ssh_event event_ = nullptr;
    ssh_channel channel_ = nullptr;
    ssh_server_callbacks_struct server_cb_{};
    ssh_channel_callbacks_struct channel_cb_{};
    std::string user_, fingerprint_, slot_user_, pending_refusal_;
    unsigned auth_failures_ = 0;
    int pair_ = -1;
    bool authenticated_ = false;
    bool authenticated_slot_ = false;
    bool exec_accepted_ = false;
    bool failed_ = false;
    bool done_ = false;
    bool pair_eof_ = false;
};

ssh_key load_or_create_host_key(std::filesystem::path const& path) {
    namespace fs = std::filesystem;
    ssh_key key = nullptr;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
            throw std::runtime_error("listen.ssh.host_key: cannot generate an ed25519 key");
        auto const old = ::umask(077);
        int const rc = ssh_pki_export_privkey_file(key, nullptr, nullptr, nullptr, path.c_str());
        ::umask(old);
        if (rc != SSH_OK) {
            ssh_key_free(key);
            throw std::runtime_error("listen.ssh.host_key: cannot write " + path.string() +
                                     " (check the folder exists and is writable)");
        }
        ::chmod(path.c_str(), 0600);
        spdlog::info("created SSH host key {}", path.string());
        return key;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
        throw std::runtime_error(
            "listen.ssh.host_key: " + path.string() +
            " is readable by others (chmod 600 it; a host key must stay private)");
    if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK)
        throw std::runtime_error("listen.ssh.host_key: cannot read the private key " +
                                 path.string());
    return key;
}

} // namespace

ssh_server::ssh_server(config::ssh_listener const& cfg,
                       std::function<std::shared_ptr<server::snapshot const>()> current,
                       server::services& services, stream_handoff handoff)
    : state_(std::make_shared<state>(cfg, std::move(current), services, std::move(handoff))) {
    ssh_init();
    ssh_key key = load_or_create_host_key(cfg.host_key);
    spdlog::info("SSH host key fingerprint: {} ({})", key_fingerprint(key), cfg.host_key.string());
    state_->bind = ssh_bind_new();
    // RSA only with SHA-2 signatures; no ssh-rsa (SHA-1).
    char const* accepted =
        "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
        "rsa-sha2-512,rsa-sha2-256";
    if (ssh_bind_options_set(state_->bind, SSH_BIND_OPTIONS_IMPORT_KEY, key) != SSH_OK ||
        ssh_bind_options_set(state_->bind, SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES, accepted) !=
            SSH_OK) {
        ssh_key_free(key);
        throw std::runtime_error(std::string("listen.ssh: cannot configure the SSH server: ") +
                                 ssh_get_error(state_->bind));
    }
    // The bind now owns the key.
}

ssh_server::~ssh_server() {
    wait_stopped(std::chrono::seconds(5));
}

void ssh_server::serve(boost::asio::ip::tcp::socket socket) {
    auto const id = state_->services.next_connection_id.fetch_add(1, std::memory_order_relaxed);
    std::string peer = "?";
    boost::system::error_code ec;
    if (auto ep = socket.remote_endpoint(ec); !ec)
        peer = ep.address().to_string() + ":" + std::to_string(ep.port());
    int const fd = socket.release(ec);
    if (ec) {
        state_->services.open_connections.fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    // libssh does blocking I/O on the socket during the key exchange.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    // The thread holds the connection's place in limits.max_connections; the HTTP session it
    // hands the stream to counts in the transport gauge.
    int const watch = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    {
        std::lock_guard lock(state_->threads_mutex);
        state_->live_sockets.insert(watch);
    }
    if (state_->stopping)
        ::shutdown(fd, SHUT_RDWR);
    std::thread([st = state_, fd, watch, peer, id] {
        {
            connection c(st, fd, peer, id);
            c.run();
        }
        st->services.open_connections.fetch_sub(1, std::memory_order_relaxed);
        std::lock_guard lock(st->threads_mutex);
        st->live_sockets.erase(watch);
        ::close(watch);
        st->threads_done.notify_all();
    }).detach();
}

void ssh_server::stop() {
    state_->stopping = true;
    std::lock_guard lock(state_->threads_mutex);
    for (int const s : state_->live_sockets)
        ::shutdown(s, SHUT_RDWR);
}

void ssh_server::wait_stopped(std::chrono::milliseconds limit) {
    stop();
    std::unique_lock lock(state_->threads_mutex);
    if (!state_->threads_done.wait_for(lock, limit,
                                       [this] { return state_->live_sockets.empty(); }))
        spdlog::warn("{} SSH connection(s) still ending after {} ms", state_->live_sockets.size(),
                     limit.count());
}

} // namespace dockgate::ssh
