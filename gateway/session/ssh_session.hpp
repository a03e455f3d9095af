#pragma once
// The SSH transport's side of the HTTP session: one session per dial-stdio channel.

#include <memory>

#include "gateway/server/runtime.hpp"
#include "gateway/session/http_session.hpp"
#include "gateway/session/stream_traits.hpp"

namespace dockgate::session {

/// Serves an authenticated SSH channel with the key's identity; `check` re-validates the key on
/// reloads. Call on the channel's worker thread.
void start_ssh_session(ssh_stream stream, policy::identity who, credential_check check,
                       std::shared_ptr<server::snapshot const> snap, server::services& services,
                       server::session_registry& registry);

} // namespace dockgate::session
