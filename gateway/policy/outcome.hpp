#pragma once
// What became of a request, as audit lines, metrics and replies report it. The one place where
// an outcome is spelled as text is outcome_name().

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace dockgate::policy {

enum class outcome : unsigned char {
    allow,      // forwarded (or answered by the gateway for the caller)
    deny,       // refused by policy
    would_deny, // a role in audit mode would have refused it; forwarded
    invalid,    // malformed: the daemon could read it differently, or would refuse it
    error,      // the gateway could not decide or forward (the daemon unreachable)
    limited,    // refused by a per-user limit (429 Too Many Requests)
};

inline constexpr std::size_t outcome_count = 6;

inline constexpr std::array<std::string_view, outcome_count> outcome_names{
    "allow", "deny", "would-deny", "invalid", "error", "limited"};

/// "allow", "deny", "would-deny", "invalid", "error" or "limited".
constexpr std::string_view outcome_name(outcome o) noexcept {
    return outcome_names[static_cast<std::size_t>(o)];
}

/// The outcome spelled `name`, for readers of audit lines and explain's output.
constexpr std::optional<outcome> outcome_from_name(std::string_view name) noexcept {
    for (std::size_t i = 0; i < outcome_count; ++i) {
        if (outcome_names[i] == name)
            return static_cast<outcome>(i);
    }
    return std::nullopt;
}

/// True when the request goes on to the daemon.
constexpr bool forwards(outcome o) noexcept {
    return o == outcome::allow || o == outcome::would_deny;
}

} // namespace dockgate::policy
