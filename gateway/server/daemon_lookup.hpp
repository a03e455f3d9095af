#pragma once
// One GET to the daemon's socket, from a thread that may block (`dockgate explain`); the
// gateway's sessions make theirs asynchronously.

#include <chrono>
#include <filesystem>

#include "gateway/admission/admission.hpp"

namespace dockgate::server {

/// Asks the daemon at `socket` for `what`, within `timeout` for the whole exchange. Status 0
/// when it could not be asked, did not answer in time, or answered more than what.max_bytes.
admission::daemon_reply daemon_lookup(std::filesystem::path const& socket,
                                      admission::lookup const& what,
                                      std::chrono::steady_clock::duration timeout);

} // namespace dockgate::server
