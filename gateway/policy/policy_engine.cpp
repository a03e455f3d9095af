#include "gateway/policy/policy_engine.hpp"

#include <algorithm>

#include "common/engine_api/route_table.hpp"

namespace dockgate::policy {

std::vector<std::string> resolve_groups(config::config const& cfg, std::string const& user,
                                        std::vector<std::string> groups, std::string const& alias) {
    for (auto const* name : {&user, &alias}) {
        if (name->empty())
            continue;
        if (auto it = cfg.users.find(*name); it != cfg.users.end()) {
            for (auto const& g : it->second.groups) {
                if (std::find(groups.begin(), groups.end(), g) == groups.end())
                    groups.push_back(g);
            }
        }
    }
    return groups;
}

policy_engine::policy_engine(config::config const& cfg)
    : roles_(cfg.roles) {}

std::vector<std::string> policy_engine::roles_of(identity const& who) const {
    std::vector<std::string> out;
    for (auto const& role : roles_) {
        bool const holds =
            std::any_of(role.subjects.begin(), role.subjects.end(), [&](auto const& s) {
                if (s.type == config::subject::kind::user)
                    return s.name == who.user || (!who.alias.empty() && s.name == who.alias);
                return std::find(who.groups.begin(), who.groups.end(), s.name) != who.groups.end();
            });
        if (holds)
            out.push_back(role.name);
    }
    return out;
}

namespace {

// Index of the first glob in `globs` matching `op`, or -1.
int first_match(std::vector<std::string> const& globs, std::string_view op) {
    for (std::size_t i = 0; i < globs.size(); ++i) {
        if (engine_api::glob_match(globs[i], op))
            return static_cast<int>(i);
    }
    return -1;
}

std::string rule_key(std::string const& role, char const* list, int index) {
    return "roles." + role + "." + list + "[" + std::to_string(index) + "]";
}

} // namespace

decision policy_engine::evaluate(identity const& who, std::vector<std::string> const& roles,
                                 std::string_view operation) const {
    (void)who;
    decision denied;
    denied.reason = roles.empty() ? "no role is granted to this identity" : "no role allows it";
    decision audit_denied;
    bool have_audit_denial = false;

    for (auto const& role : roles_) {
        if (std::find(roles.begin(), roles.end(), role.name) == roles.end())
            continue;
        decision d;
        d.role = role.name;
        if (int i = first_match(role.deny, operation); i >= 0) {
            d.rule = rule_key(role.name, "deny", i);
            d.reason =
                "denied by " + d.rule + " (\"" + role.deny[static_cast<std::size_t>(i)] + "\")";
        } else if (int j = first_match(role.allow, operation); j >= 0) {
            d.result = outcome::allow;
            d.rule = rule_key(role.name, "allow", j);
            return d;
        } else {
            d.rule = "roles." + role.name + ".allow";
            d.reason = "not in " + d.rule + " (role " + role.name + ")";
        }
        if (role.mode == config::role_mode::audit && !have_audit_denial) {
            audit_denied = d;
            audit_denied.result = outcome::would_deny;
            have_audit_denial = true;
        }
        // The first explicit refusal is the most useful one to report.
        if (denied.rule.empty())
            denied = std::move(d);
    }
    if (have_audit_denial)
        return audit_denied;
    if (roles.size() > 1 && !denied.rule.empty() && denied.reason.rfind("not in ", 0) == 0)
        denied.reason = "no role allows it (roles: " + [&] {
            std::string all;
            for (auto const& r : roles)
                all += (all.empty() ? "" : ", ") + r;
            return all;
        }() + ")";
    return denied;
}

std::vector<config::role const*>
policy_engine::admitting_roles(std::vector<std::string> const& roles,
                               std::string_view operation) const {
    std::vector<config::role const*> out;
    for (auto const& role : roles_) {
        if (std::find(roles.begin(), roles.end(), role.name) == roles.end())
            continue;
        if (first_match(role.deny, operation) < 0 && first_match(role.allow, operation) >= 0)
            out.push_back(&role);
    }
    return out;
}

std::string policy_engine::denial_message(identity const& who, std::string_view operation,
                                          decision const& d) {
    std::string msg =
        "dockgate: " + who.user + " may not " + std::string(operation) + ": " + d.reason;
    return msg;
}

} // namespace dockgate::policy
