#pragma once
// The process: worker threads (one io_context each), the listeners, signals, reloads and the
// bounded shutdown.

#include <memory>

#include "gateway/server/runtime.hpp"

namespace dockgate::server {

/// Binds the listeners of `initial`, then serves until SIGTERM/SIGINT: stops accepting, lets
/// requests in flight finish within gateway.shutdown_timeout, closes the rest. On SIGHUP, and
/// when the config or a file it names changes, loads a new snapshot and swaps it in if valid
/// (else keeps the old one and logs why); open connections are re-checked against it.
/// Throws std::runtime_error for startup problems (bind, audit log), naming the config key.
/// Returns the process exit code.
int run(std::shared_ptr<snapshot const> const& initial);

} // namespace dockgate::server
