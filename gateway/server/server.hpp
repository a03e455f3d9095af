#pragma once
// The process: worker threads (one io_context each), the listeners, signal handling and the
// bounded shutdown.

#include "config/config.hpp"

#include <memory>

namespace dockgate::server {

/// Binds the listeners, then serves until SIGTERM/SIGINT: stops accepting, lets requests in
/// flight finish within gateway.shutdown_timeout, closes the rest. Throws std::runtime_error
/// for startup problems (bind, TLS material, audit log), naming the config key.
/// Returns the process exit code.
int run(std::shared_ptr<config::config const> cfg);

} // namespace dockgate::server
