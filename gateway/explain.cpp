#include "gateway/explain.hpp"

#include <algorithm>
#include <ostream>

#include "common/engine_api/route_table.hpp"
#include "gateway/http/canonical_target.hpp"
#include "gateway/inspect/inspect.hpp"
#include "gateway/inspect/ownership.hpp"

namespace dockgate {

namespace {

char const* requirement_name(inspect::requirement_kind k) {
    switch (k) {
    case inspect::requirement_kind::container_owned:
        return "the container must be the caller's";
    case inspect::requirement_kind::network_not_host:
        return "the network must not be the host's";
    case inspect::requirement_kind::volume_owned:
        return "the volume must be the caller's (or new)";
    case inspect::requirement_kind::image_user_non_root:
        return "the image's configured user must be non-root";
    case inspect::requirement_kind::container_user_non_root:
        return "the container's user must be non-root";
    case inspect::requirement_kind::image_registry:
        return "the image must come from a trusted registry";
    case inspect::requirement_kind::container_confined:
        return "the container must be one the role could create now";
    case inspect::requirement_kind::volume_confined:
        return "the volume, if it exists, must reach no host path outside bind_sources";
    case inspect::requirement_kind::host_path_within:
        return "the host path, with its symbolic links resolved, must stay in bind_sources";
    }
    return "?";
}

std::string ownership_effect(inspect::ownership_action a, std::string const& user) {
    using action = inspect::ownership_action;
    switch (a) {
    case action::target:
    case action::connect_body:
    case action::commit_container:
        return "the object named must carry dockgate.owner=" + user +
               " by the daemon's inspect (else 404); it is forwarded by its full id";
    case action::filter_query:
        return "filters gain label=dockgate.owner=" + user;
    case action::data_usage:
        return "the reply lists only " + user + "'s containers and volumes";
    case action::refuse:
    case action::none:
        break;
    }
    return {};
}

} // namespace

int explain(server::snapshot const& snap, explain_request const& req, std::ostream& out) {
    auto const space = req.request_line.find(' ');
    if (space == std::string::npos) {
        out << "error: --request must be \"METHOD TARGET\", e.g. \"POST "
               "/v1.41/containers/create\"\n";
        return 1;
    }
    std::string const method = req.request_line.substr(0, space);
    auto target = http::canonicalize_target(req.request_line.substr(space + 1));
    if (auto* err = std::get_if<http::target_error>(&target)) {
        out << "decision: invalid (400)\nreason: " << err->reason << '\n';
        return 3;
    }
    auto const& canonical = std::get<http::canonical_target>(target);
    auto const route = engine_api::route_table::engine_api().match(method, canonical.segments);
    if (!route) {
        out << "decision: deny (403)\nreason: not an Engine API route\n";
        return 3;
    }
    policy::identity who;
    who.user = req.user;
    who.groups = policy::resolve_groups(*snap.cfg, req.user, req.groups);
    auto const roles = snap.policy.roles_of(who);
    out << "user: " << who.user << "\ngroups:";
    for (auto const& g : who.groups)
        out << ' ' << g;
    out << "\nroles:";
    for (auto const& r : roles)
        out << ' ' << r;
    out << "\noperation: " << route->operation << "\ncanonical target: " << canonical.target()
        << '\n';
    auto const decision = snap.policy.evaluate(who, roles, route->operation);
    if (!decision.forwards()) {
        out << "decision: deny (403)\nrole: " << decision.role << "\nrule: " << decision.rule
            << "\nmessage: "
            << policy::policy_engine::denial_message(who, route->operation, decision) << '\n';
        return 3;
    }
    auto const handling = inspect::handling_for(route->operation);
    auto const candidates = snap.policy.admitting_roles(roles, route->operation);
    bool const constrained = std::any_of(candidates.begin(), candidates.end(), [](auto const* r) {
        auto const& c = r->constraints;
        return c.containers || c.volumes || c.images || c.build || c.ownership;
    });
    bool const owned_only =
        !candidates.empty() && std::all_of(candidates.begin(), candidates.end(),
                                           [](auto const* r) { return r->constraints.ownership; });
    auto const step = inspect::ownership_step_for(route->operation, route->path_template);
    if (owned_only && step.action != inspect::ownership_action::none) {
        if (step.action == inspect::ownership_action::refuse) {
            auto const& role = candidates.front()->name;
            out << "decision: deny (403)\nrole: " << role << "\nrule: roles." << role
                << ".ownership\nmessage: " << step.why << '\n';
            return 3;
        }
        out << "ownership: " << ownership_effect(step.action, who.user) << '\n';
    }
    if (handling == inspect::body_handling::none || !constrained) {
        out << "decision: " << decision.name() << "\nrole: " << decision.role
            << "\nrule: " << decision.rule << "\nbody: forwarded as received\n";
        return 0;
    }
    auto query = inspect::parse_go_query(canonical.query);
    if (auto* err = std::get_if<std::string>(&query)) {
        out << "decision: invalid (400)\nreason: " << *err << '\n';
        return 3;
    }
    std::string target_param;
    for (auto const& [name, value] : route->params) {
        if (name == "id" || name == "name")
            target_param = value;
    }
    inspect::request ireq;
    ireq.operation = route->operation;
    ireq.query = std::get<std::vector<inspect::query_param>>(query);
    ireq.body = req.body;
    ireq.content_type = req.content_type;
    ireq.target = target_param;
    ireq.user = who.user;
    std::optional<inspect::inspect_result> refusal;
    for (auto const* role : candidates) {
        ireq.add_owner_label = role->constraints.ownership;
        auto result = inspect::inspect_request(ireq, *role);
        if (result.allowed()) {
            out << "decision: allow\nrole: " << role->name << '\n';
            for (auto const& need : result.requirements)
                out << "daemon lookup: " << requirement_name(need.kind) << " (" << need.subject
                    << ", " << need.field << ", " << need.rule << ")\n";
            if (handling == inspect::body_handling::buffer_json)
                out << "forwarded body: " << (result.body_replaced ? result.forward_body : req.body)
                    << '\n';
            else
                out << "body: streamed as received (only the query is judged)\n";
            if (result.forward_query)
                out << "forwarded query: " << *result.forward_query << '\n';
            return 0;
        }
        if (!refusal)
            refusal = std::move(result);
    }
    out << "decision: "
        << (refusal->decision == inspect::inspect_result::verdict::invalid ? "invalid" : "deny")
        << " (" << refusal->http_status() << ")\nrole: " << refusal->detail.role
        << "\nrule: " << refusal->detail.rule << "\nmessage: " << refusal->detail.message << '\n';
    return 3;
}

} // namespace dockgate
