#pragma once
// The access decision: pure, no I/O, no allocation-heavy work beyond the result strings.
// Built once per config snapshot and shared read-only by every worker thread.

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "gateway/policy/identity.hpp"
#include "gateway/policy/outcome.hpp"

namespace dockgate::policy {

/// The allow/deny lists' answer: allow, deny or would_deny.
struct decision {
    outcome result = outcome::deny;
    std::string role;   // the role that decided ("" when no role applied)
    std::string rule;   // config key of the rule, e.g. "roles.operator.deny[0]"
    std::string reason; // for the denial message: "no role allows it"

    bool forwards() const noexcept { return policy::forwards(result); }
};

class policy_engine {
public:
    explicit policy_engine(config::config const& cfg);

    /// The names of the roles whose subjects name the user or one of its groups, in config order.
    std::vector<std::string> roles_of(identity const& who) const;

    /// Decides whether `who`, holding `roles` (from roles_of), may call `operation`.
    /// A role allows when an `allow` glob matches and no `deny` glob does; any allowing role
    /// suffices. When no enforcing role allows but an audit-mode role of the caller would have
    /// denied, the verdict is would_deny (forwarded, logged).
    decision evaluate(identity const& who, std::vector<std::string> const& roles,
                      std::string_view operation) const;

    /// The caller's roles whose allow/deny lists admit `operation`, in config order: the
    /// candidates whose body constraints are then checked.
    std::vector<config::role const*> admitting_roles(std::vector<std::string> const& roles,
                                                     std::string_view operation) const;

    /// The message a denied caller sees: "dockgate: alice may not ContainerCreate: <reason>".
    static std::string denial_message(identity const& who, std::string_view operation,
                                      decision const& d);

private:
    std::vector<config::role> roles_;
};

} // namespace dockgate::policy
