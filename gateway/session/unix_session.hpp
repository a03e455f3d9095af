#pragma once
// The local unix-socket transport: the peer's uid (SO_PEERCRED) names the user, then the shared
// HTTP session. This is how a reverse proxy or a dashboard gets a filtered socket instead of
// the daemon's own.

#include <memory>

#include "gateway/server/runtime.hpp"
#include "gateway/session/http_session.hpp"
#include "gateway/session/stream_traits.hpp"

namespace dockgate::session {

/// Takes over an accepted unix connection (bound to its worker's executor). The user is the
/// uid's passwd name, or "uid:N" when it has none; [users.NAME] under either form adds groups.
/// A connection whose credentials cannot be read is closed.
void start_unix_connection(unix_stream socket, std::shared_ptr<server::snapshot const> snap,
                           server::services& services, server::session_registry& registry);

/// Serves an already authenticated local stream (a socketpair end in tests) with the
/// given identity. `check` re-validates the credential on reloads.
void start_stream_session(unix_stream socket, policy::identity who, credential_check check,
                          server::transport kind, std::shared_ptr<server::snapshot const> snap,
                          server::services& services, server::session_registry& registry);

/// user name and alias for a uid: {"alice", "uid:1000"}, or {"uid:1000", ""} without a passwd
/// entry.
std::pair<std::string, std::string> unix_user_name(unsigned uid);

} // namespace dockgate::session
