#pragma once
// One SSH connection, served from the event loop of the worker that accepted it: libssh runs
// non-blocking on the connection's socket, and Asio says when the socket can be read or
// written. No thread of its own, no socketpair: each session channel that asks for
// `docker system dial-stdio` becomes a channel_stream served by its own HTTP session on the
// same worker, with its own audit lines and policy.
//
// Threading: everything here runs on the connection's worker thread. libssh's callbacks only
// record what happened; what follows from it (starting a session, refusing a command, closing
// a channel, waking a stream) is done in settle(), after libssh has returned.
//
// Limits: the handshake (key exchange and public-key authentication) within
// limits.handshake_timeout, and no more than listen.ssh.max_handshakes_per_address of them at
// once from one address; each channel's exec request within limits.handshake_timeout of its
// opening; up to listen.ssh.max_channels_per_connection channels, each counted against
// listen.ssh.max_sessions and max_sessions_per_user; an authenticated connection without a
// channel closes after limits.idle_timeout.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "gateway/server/runtime.hpp"
#include "gateway/ssh/channel_stream.hpp"
#include "gateway/ssh/slot_table.hpp"

namespace dockgate::ssh {

/// Re-checks the channel's key against a new snapshot: why it no longer holds, or nullopt.
using key_check = std::function<std::optional<std::string>(server::snapshot const&)>;

/// Starts the HTTP session of an accepted dial-stdio channel, on the connection's worker thread
/// (the registry is that worker's).
using channel_handoff = std::function<void(channel_stream stream, policy::identity who,
                                           key_check check, server::session_registry& registry)>;

/// What the listener shares with its connections; outlives every one of them.
struct ssh_context {
    ssh_context(config::ssh_listener c,
                std::function<std::shared_ptr<server::snapshot const>()> cur, server::services& s,
                channel_handoff h)
        : cfg(std::move(c))
        , current(std::move(cur))
        , services(s)
        , handoff(std::move(h))
        , slots(cfg.max_handshakes_per_address, cfg.max_sessions, cfg.max_sessions_per_user) {}
    ~ssh_context();

    config::ssh_listener cfg;
    std::function<std::shared_ptr<server::snapshot const>()> current;
    server::services& services;
    channel_handoff handoff;
    slot_table slots;
    std::mutex bind_mutex; // ssh_bind_accept_fd() copies the bind's options: one at a time
    ssh_bind bind = nullptr;
};

class ssh_connection : public std::enable_shared_from_this<ssh_connection>,
                       public server::session_handle {
public:
    /// Takes over an accepted socket (it counts in services.open_connections until the
    /// connection closes). Call on the worker thread of the socket's executor.
    static void start(std::shared_ptr<ssh_context> ctx, boost::asio::ip::tcp::socket socket,
                      server::session_registry& registry);

    ssh_connection(std::shared_ptr<ssh_context> ctx, boost::asio::ip::tcp::socket socket,
                   server::session_registry& registry, std::uint64_t id, std::string address,
                   std::string peer);
    ~ssh_connection() override; // NOLINT(bugprone-exception-escape): see the definition

    /// No new channels; closes once none is left (at once when none is open).
    void drain() override;
    void abort() override;
    /// Closes the connection, every channel with it, when its key no longer holds.
    void revalidate(std::shared_ptr<server::snapshot const> next) override;
    void sweep_upstream() override {}

    struct channel_entry;

    // For channel_stream (see detail:: there).
    void kick();
    bool write_pending() const;
    void close_channel(channel_entry& e, int exit_status);
    channel_entry* entry_of(channel_state const& ch);
    void released(channel_state const& ch);

private:
    void begin();
    void drive();
    void settle();
    void wait_socket();
    void check_deadlines();
    void rearm_deadline();
    void close_connection(char const* why);
    void finish_entry(channel_entry& e);
    void refuse(channel_entry& e, std::string message);
    void start_session(channel_entry& e);
    bool alive() const;

    static int on_auth_pubkey(ssh_session, char const* user, ssh_key_struct* key, char state,
                              void* self);
    static ssh_channel on_channel_open(ssh_session, void* self);
    static int on_data(ssh_session, ssh_channel, void* data, uint32_t len, int is_stderr,
                       void* entry);
    static void on_eof(ssh_session, ssh_channel, void* entry);
    static void on_close(ssh_session, ssh_channel, void* entry);
    static int on_exec(ssh_session, ssh_channel, char const* command, void* entry);
    static int on_shell(ssh_session, ssh_channel, void* entry);
    static int on_subsystem(ssh_session, ssh_channel, char const* name, void* entry);
    static int on_pty(ssh_session, ssh_channel, char const*, int, int, int, int, void*);
    static int on_env(ssh_session, ssh_channel, char const*, char const*, void*);

    std::shared_ptr<ssh_context> ctx_;
    boost::asio::ip::tcp::socket socket_; // waits only: libssh reads and writes the descriptor
    server::session_registry& registry_;
    std::uint64_t id_;
    std::string address_, peer_;
    std::string user_, fingerprint_;
    ssh_session session_ = nullptr;
    ssh_event event_ = nullptr;
    ssh_server_callbacks_struct server_cb_{};
    std::vector<std::unique_ptr<channel_entry>> channels_;
    boost::asio::steady_timer deadline_;
    std::chrono::steady_clock::time_point armed_ = std::chrono::steady_clock::time_point::max();
    std::chrono::steady_clock::time_point auth_by_;
    std::chrono::steady_clock::time_point idle_since_;
    unsigned auth_failures_ = 0;
    bool libssh_owns_fd_ = false; // from ssh_bind_accept_fd() on, libssh closes the socket
    bool authenticated_ = false;
    bool holds_handshake_ = true; // its place in max_handshakes_per_address
    bool failed_auth_ = false;    // max_auth_tries reached
    bool read_waiting_ = false;
    bool write_waiting_ = false;
    bool kicked_ = false;
    bool draining_ = false;
    bool closed_ = false;
};

} // namespace dockgate::ssh
