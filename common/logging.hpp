#pragma once
// Operational logging (stderr). The audit trail is separate: gateway/audit/.

#include <string_view>

namespace dockgate {

/// Sets up the default spdlog logger on stderr. `level` is one of spdlog's names
/// ("trace", "debug", "info", "warn", "error"); unknown names fall back to "info".
/// Call once at startup, before any thread is started.
void init_logging(std::string_view level);

} // namespace dockgate
