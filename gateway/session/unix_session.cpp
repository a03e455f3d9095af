#include "gateway/session/unix_session.hpp"

#include <cerrno>
#include <pwd.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

#include "gateway/session/http_session_impl.hpp"

namespace dockgate::session {

template class http_session<unix_stream>;

std::pair<std::string, std::string> unix_user_name(unsigned uid) {
    std::string const numeric = "uid:" + std::to_string(uid);
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
        found->pw_name != nullptr && *found->pw_name != '\0')
        return {found->pw_name, numeric};
    return {numeric, ""};
}

void start_stream_session(unix_stream socket, policy::identity who, credential_check check,
                          server::transport kind, std::shared_ptr<server::snapshot const> snap,
                          server::services& services, server::session_registry& registry) {
    auto const id = services.next_connection_id.fetch_add(1, std::memory_order_relaxed);
    // Sessions give their place in open_connections back when they end.
    services.open_connections.fetch_add(1, std::memory_order_relaxed);
    who.groups = policy::resolve_groups(*snap->cfg, who.user, {}, who.alias);
    auto session = std::make_shared<http_session<unix_stream>>(
        std::move(socket), std::move(who), std::vector<std::string>{}, std::move(check), kind,
        std::move(snap), services, registry, id);
    session->start();
}

void start_unix_connection(unix_stream socket, std::shared_ptr<server::snapshot const> snap,
                           server::services& services, server::session_registry& registry) {
    auto const id = services.next_connection_id.fetch_add(1, std::memory_order_relaxed);
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        spdlog::warn("conn {} (unix): cannot read the peer's credentials: {}; closing", id,
                     std::generic_category().message(errno));
        services.open_connections.fetch_sub(1, std::memory_order_relaxed);
        return;
    }
    policy::identity who;
    std::tie(who.user, who.alias) = unix_user_name(cred.uid);
    who.groups = policy::resolve_groups(*snap->cfg, who.user, {}, who.alias);
    who.transport = "unix";
    who.peer = "pid:" + std::to_string(cred.pid);
    who.credential = "uid:" + std::to_string(cred.uid);
    auto session = std::make_shared<http_session<unix_stream>>(
        std::move(socket), std::move(who), std::vector<std::string>{}, credential_check{},
        server::transport::unix_socket, std::move(snap), services, registry, id);
    session->start();
}

} // namespace dockgate::session
