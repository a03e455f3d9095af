#pragma once
// Internal to gateway/admission: the per-request state of an admission and its steps, each a
// task that may stop for daemon look-ups (lookup_task.hpp).
//
//   admission.cpp      the head (target, route, allow/deny lists), the body plan, the flow
//   ownership_step.cpp ownership isolation: objects resolved, pinned to full ids, lists confined
//   constraint_step.cpp the roles' constraints on query and body
//   requirements.cpp   the daemon facts those constraints depend on

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "common/engine_api/route_table.hpp"
#include "gateway/admission/admission.hpp"
#include "gateway/admission/lookup_task.hpp"
#include "gateway/http/canonical_target.hpp"
#include "gateway/inspect/inspect.hpp"
#include "gateway/inspect/ownership.hpp"
#include "gateway/policy/policy_engine.hpp"
#include "gateway/server/runtime.hpp"

namespace dockgate::admission {

// How many existing containers and volumes one requirement may lead through (a container
// joining one that joins another ...) before the request is refused.
inline constexpr int max_existing_depth = 4;
// The largest daemon reply a look-up reads: inspect replies, and the disk usage of a daemon
// with many objects.
inline constexpr std::size_t max_inspect_bytes = 4 * 1024 * 1024;
inline constexpr std::size_t max_data_usage_bytes = 64 * 1024 * 1024;

struct admission::state {
    state(std::shared_ptr<server::snapshot const> snap, policy::identity const& who,
          std::vector<std::string> roles, request_head head, host_path_resolver resolve);

    // Pinned for the whole request.
    std::shared_ptr<server::snapshot const> snap;
    policy::identity who;
    std::vector<std::string> roles;
    request_head head;
    host_path_resolver resolve;
    int lookups_left = max_lookups;

    // What the head says, worked out by the constructor.
    std::optional<http::canonical_target> target;
    std::optional<engine_api::route_match> route;
    std::string_view operation;
    policy::decision lists;                     // the allow/deny lists' answer
    std::vector<config::role const*> admitting; // roles whose lists admit the operation
    std::optional<verdict> early;               // decided by the head alone
    bool wants_body = false;
    // A role in audit mode is involved: judged bodies are read for the audit line's facts even
    // when no role constrains them (an allow-all audit role is how an admin onboards).
    bool auditing = false;
    std::uint64_t body_bytes = 0; // the most of it read: limits.body_bytes or the build one

    // The body, when read; `body_out` replaces it when a step rewrote it.
    std::string body;
    std::optional<std::string> body_out;
    bool body_read = false;

    // A role in audit mode would have refused: forwarded, and audited as would-deny.
    struct audit_note {
        std::string role, rule, reason;
    };
    std::optional<audit_note> would_deny;
    std::string deciding_role, deciding_rule; // who admitted it, when not the lists' role
    std::string platform;                     // ContainerCreate's platform, for the image look-ups

    // The look-up machinery.
    std::vector<lookup_record> made;
    detail::lookup_channel channel;
    std::optional<detail::task<verdict>> flow;
    verdict final;

    // admission.cpp
    detail::task<verdict> decide();
    verdict forwarded() const;
    verdict refusal(outcome result, unsigned status, std::string message, std::string reason,
                    std::string role = {}, std::string rule = {}) const;
    std::string version_prefix() const;
    /// GET `path` from the daemon (the version prefix is added here). Counts against the
    /// budget; with the budget spent the reply is status 0 without asking.
    detail::task<daemon_reply> get(std::string path, std::size_t max_bytes = max_inspect_bytes);
    /// The same, parsed as JSON (null when the body is not JSON).
    detail::task<std::pair<unsigned, boost::json::value>> get_json(std::string path);

    // ownership_step.cpp: nullopt to carry on, else the final verdict.
    detail::task<std::optional<verdict>> ownership_step();
    detail::task<std::pair<unsigned, inspect::owned_object>> lookup_owned(inspect::owned_kind kind,
                                                                          std::string ref);
    detail::task<std::optional<verdict>> require_owned(config::role const& role, bool audit_only,
                                                       inspect::owned_kind kind, std::string ref,
                                                       std::string& resolved);
    std::optional<verdict> refuse_unowned(config::role const& role, bool audit_only,
                                          unsigned status, std::string message, std::string reason);

    // constraint_step.cpp
    detail::task<std::optional<verdict>> constraint_step();
    /// Forwards the objects of `pins` (requirement, resolved id) by their ids.
    void apply_pins(inspect::inspect_result& result,
                    std::vector<std::pair<inspect::pin, std::string>> const& pins);

    // requirements.cpp: why a requirement fails, "" when it holds; `resolved` receives the
    // full id of the object the look-up found, for pinning.
    detail::task<std::string> check_requirement(inspect::requirement need, config::role const& role,
                                                int depth = 0, std::string* resolved = nullptr);
    detail::task<std::string> check_existing(std::string what, inspect::inspect_result judged,
                                             config::role const& role, int depth);
};

/// A JSON string member's text, or "".
std::string json_text(boost::json::value const* v);
/// obj[path[0]][path[1]]..., or nullptr.
boost::json::value const* json_at(boost::json::value const& v,
                                  std::initializer_list<char const*> path);

} // namespace dockgate::admission
