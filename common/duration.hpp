#pragma once
// Durations as they appear in the config ("10s", "250ms", "2m", "1h", "14d").

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dockgate {

using duration = std::chrono::milliseconds;

/// Parses "<integer><unit>" with unit one of ms, s, m, h, d. Returns nullopt on any other
/// form (no unit, fractions, negative, overflow) so the caller can name the config key.
std::optional<duration> parse_duration(std::string_view text);

/// The inverse, for summaries and messages: picks the largest unit that divides exactly.
std::string format_duration(duration d);

} // namespace dockgate
