#pragma once
// The SSH transport (`DOCKER_HOST=ssh://user@gw:2222`). libssh keeps its own event loop, so
// each SSH connection gets a thread that runs the key exchange, public-key authentication and
// the one exec request the docker CLI sends (`docker system dial-stdio`). That channel is then
// joined to the common HTTP session through a socketpair: the session serves one end like any
// other local stream, with the SSH identity; the thread pumps bytes between the channel and
// the other end. Everything else (shell, pty, env, subsystems, other commands, forwarding,
// agent, X11) is refused.

#include <chrono>
#include <functional>
#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "gateway/server/runtime.hpp"

namespace dockgate::ssh {

/// Hands an authenticated dial-stdio stream to a worker: `fd` is the session's end of the
/// socketpair (ownership passes), `check` re-validates the key on reloads.
using stream_handoff =
    std::function<void(int fd, policy::identity who,
                       std::function<std::optional<std::string>(server::snapshot const&)> check)>;

class ssh_server {
public:
    /// Loads the host key, creating an ed25519 key (0600) when the file is absent, and logs
    /// its fingerprint. Throws std::runtime_error naming listen.ssh.host_key on failure.
    ssh_server(config::ssh_listener const& cfg,
               std::function<std::shared_ptr<server::snapshot const>()> current,
               server::services& services, stream_handoff handoff);
    ~ssh_server();

    /// Serves one accepted TCP connection on its own thread (returns at once). The connection
    /// counts against limits.max_connections until its thread ends.
    void serve(boost::asio::ip::tcp::socket socket);

    /// Ends all SSH connections now (shutdown): their sockets are shut down, their threads end.
    void stop();

    /// stop(), then waits up to `limit` for every connection thread to end (the destructor
    /// does this with 5 s): none may outlive the server or the process's libraries.
    void wait_stopped(std::chrono::milliseconds limit);

    struct state;

private:
    std::shared_ptr<state> state_;
};

} // namespace dockgate::ssh
