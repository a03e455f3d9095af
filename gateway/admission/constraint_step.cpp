// The constraint step: for operations whose query or body can reach the host, each admitting
// role's constraints judge them (gateway/inspect); the daemon facts a judgement depends on are
// looked up (requirements.cpp); the first role that allows decides, and what is forwarded is
// the body it judged.

#include <algorithm>

#include "gateway/admission/state.hpp"
#include "gateway/inspect/go_query.hpp"

namespace dockgate::admission {

detail::task<std::optional<verdict>> admission::state::constraint_step() {
    auto const handling = inspect::handling_for(operation);
    if (handling == inspect::body_handling::none ||
        std::none_of(admitting.begin(), admitting.end(),
                     [](auto const* r) { return !r->constraints.empty(); }))
        co_return std::nullopt;

    auto query = inspect::parse_go_query(target->query);
    if (auto* err = std::get_if<std::string>(&query))
        co_return refusal(outcome::invalid, 400, "dockgate: invalid query: " + *err, *err);
    auto const params = std::get<std::vector<inspect::query_param>>(std::move(query));

    std::string target_param;
    for (auto const& [name, value] : route->params) {
        if (name == "id" || name == "name")
            target_param = value;
    }
    std::string const judged_body = body_out ? *body_out : body;
    inspect::request req;
    req.operation = operation;
    req.query = params;
    req.body = judged_body;
    req.content_type = head.content_type;
    req.target = target_param;
    req.user = who.user;

    std::optional<inspect::inspect_result> refused;
    for (auto const* role : admitting) {
        req.add_owner_label = role->constraints.ownership;
        auto result = inspect::inspect_request(req, *role);
        if (result.allowed()) {
            std::string failed;
            std::optional<inspect::requirement> failed_need;
            for (auto const& need : result.requirements) {
                failed = co_await check_requirement(need, *role);
                if (!failed.empty()) {
                    failed_need = need;
                    break;
                }
            }
            if (!failed_need) {
                if (result.body_replaced)
                    body_out = std::move(result.forward_body);
                if (result.forward_query)
                    target->query = std::move(*result.forward_query);
                if (lists.role != role->name) {
                    deciding_role = role->name;
                    deciding_rule = "roles." + role->name + ".allow";
                }
                co_return std::nullopt;
            }
            result.decision = inspect::inspect_result::verdict::deny;
            result.detail.role = role->name;
            result.detail.rule = failed_need->rule;
            result.detail.field = failed_need->field;
            auto field = failed_need->field;
            if (!field.empty() && field.back() == '=')
                field += "\"\""; // an empty value: say so
            result.detail.message = "dockgate: " + who.user + " (role " + role->name +
                                    ") may not " +
                                    std::string(inspect::operation_action(operation)) + " with " +
                                    field + " (" + failed_need->rule + "): " + failed;
        }
        if (!refused || (refused->decision == inspect::inspect_result::verdict::invalid &&
                         result.decision == inspect::inspect_result::verdict::deny))
            refused = std::move(result);
    }
    auto const& detail = refused->detail;
    // A role in audit mode lets through what it would refuse and says so in the audit trail.
    auto const refusing = std::find_if(admitting.begin(), admitting.end(),
                                       [&](auto const* r) { return r->name == detail.role; });
    if (refusing != admitting.end() && (*refusing)->mode == config::role_mode::audit &&
        refused->decision == inspect::inspect_result::verdict::deny) {
        would_deny = audit_note{detail.role, detail.rule, detail.message};
        co_return std::nullopt;
    }
    bool const invalid = refused->decision == inspect::inspect_result::verdict::invalid;
    co_return refusal(invalid ? outcome::invalid : outcome::deny,
                      static_cast<unsigned>(refused->http_status()), detail.message,
                      detail.field.empty() ? detail.message : detail.field, detail.role,
                      detail.rule);
}

} // namespace dockgate::admission
