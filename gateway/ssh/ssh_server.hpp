#pragma once
// The SSH transport (`DOCKER_HOST=ssh://user@gw:2222`): the host key and the listener's shared
// state. Each accepted connection is an ssh_connection served from the event loop of the
// worker that accepted it (no thread of its own); each session channel on it that runs
// `docker system dial-stdio` is an HTTP stream with its own session. Everything else (shell,
// pty, env, subsystems, other commands, forwarding, agent, X11) is refused.

#include <functional>
#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "gateway/server/runtime.hpp"
#include "gateway/ssh/ssh_connection.hpp"

namespace dockgate::ssh {

class ssh_server {
public:
    /// Loads the host key, creating an ed25519 key (0600) when the file is absent, and logs
    /// its fingerprint. Throws std::runtime_error naming listen.ssh.host_key on failure.
    ssh_server(config::ssh_listener const& cfg,
               std::function<std::shared_ptr<server::snapshot const>()> current,
               server::services& services, channel_handoff handoff);

    /// Serves one accepted TCP connection, which counts against limits.max_connections until
    /// it closes. Call on the worker thread of the socket's executor; the connection registers
    /// in that worker's `registry` (drain, abort and reload re-checks reach it there).
    void serve(boost::asio::ip::tcp::socket socket, server::session_registry& registry);

    slot_table const& slots() const { return context_->slots; }

private:
    std::shared_ptr<ssh_context> context_;
};

} // namespace dockgate::ssh
