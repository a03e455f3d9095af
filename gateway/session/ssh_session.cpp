#include "gateway/session/ssh_session.hpp"

#include "gateway/session/http_session_impl.hpp"

namespace dockgate::session {

template class http_session<ssh_stream>;

void start_ssh_session(ssh_stream stream, policy::identity who, credential_check check,
                       std::shared_ptr<server::snapshot const> snap, server::services& services,
                       server::session_registry& registry) {
    auto const id = services.next_connection_id.fetch_add(1, std::memory_order_relaxed);
    // Sessions give their place in open_connections back when they end.
    services.open_connections.fetch_add(1, std::memory_order_relaxed);
    who.groups = policy::resolve_groups(*snap->cfg, who.user, {}, who.alias);
    auto session = std::make_shared<http_session<ssh_stream>>(
        std::move(stream), std::move(who), std::vector<std::string>{}, std::move(check),
        server::transport::ssh, std::move(snap), services, registry, id);
    session->start();
}

} // namespace dockgate::session
