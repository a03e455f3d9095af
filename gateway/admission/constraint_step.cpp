// The constraint step: for operations whose query or body can reach the host, each admitting
// role's constraints judge them (gateway/inspect); the daemon facts a judgement depends on are
// looked up (requirements.cpp); the first role that allows decides, and what is forwarded is
// the body it judged.

#include <algorithm>

#include "gateway/admission/state.hpp"
#include "gateway/inspect/go_query.hpp"
#include "gateway/inspect/json.hpp"

namespace dockgate::admission {

namespace {

// The string or member `p` points at in the canonical body tree; nullptr when the path is not
// there (the judged body always has it; a mismatch leaves the body as judged).
inspect::json_value* follow(inspect::json_value& root, std::vector<std::string> const& path,
                            std::size_t count) {
    inspect::json_value* at = &root;
    for (std::size_t i = 0; i < count && at != nullptr; ++i) {
        auto const& step = path[i];
        if (step.size() > 2 && step.front() == '[' && step.back() == ']') {
            auto const index = std::stoul(step.substr(1, step.size() - 2));
            at = at->is_array() && index < at->items.size() ? &at->items[index] : nullptr;
        } else {
            at = at->is_object() ? inspect::find_key(*at, step) : nullptr;
        }
    }
    return at;
}

} // namespace

void admission::state::apply_pins(inspect::inspect_result& result,
                                  std::vector<std::pair<inspect::pin, std::string>> const& pins) {
    using place = inspect::pin::place;
    std::optional<inspect::json_value> body;
    std::optional<std::vector<inspect::query_param>> query;
    for (auto const& [p, id] : pins) {
        switch (p.where) {
        case place::body_value:
        case place::body_key: {
            if (!result.body_replaced || p.path.empty())
                break;
            if (!body) {
                auto parsed = inspect::parse_json(result.forward_body);
                if (!std::holds_alternative<inspect::json_value>(parsed))
                    break;
                body = std::get<inspect::json_value>(std::move(parsed));
            }
            if (p.where == place::body_value) {
                if (auto* v = follow(*body, p.path, p.path.size()); v && v->is_string())
                    v->text = p.before + id + p.after;
            } else if (auto* parent = follow(*body, p.path, p.path.size() - 1);
                       parent && parent->is_object()) {
                for (auto& m : parent->members) {
                    if (m.key == p.path.back())
                        m.key = id;
                }
            }
            break;
        }
        case place::query: {
            if (!query) {
                auto parsed = inspect::parse_go_query(result.forward_query ? *result.forward_query
                                                                           : target->query);
                if (!std::holds_alternative<std::vector<inspect::query_param>>(parsed))
                    break;
                query = std::get<std::vector<inspect::query_param>>(std::move(parsed));
            }
            for (auto& param : *query) {
                if (param.key == p.path.front()) {
                    param.value = p.before + id + p.after;
                    break; // the first, which the daemon reads
                }
            }
            break;
        }
        case place::target:
            if (target->segments.size() >= 2 && target->segments[1] != id) {
                auto const old = target->segments[1];
                target->replace_segment(1, id);
                for (auto& [name, value] : route->params) {
                    if (value == old)
                        value = id;
                }
            }
            break;
        }
    }
    if (body)
        result.forward_body = inspect::write_json(*body);
    if (query)
        result.forward_query = inspect::encode_go_query(*query);
}

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
    req.may_push = !snap->policy.admitting_roles(roles, "ImagePush").empty();
    // A create for another platform uses that platform's image configuration (its user).
    if (operation == "ContainerCreate")
        platform = std::string(inspect::query_get(params, "platform").value_or(""));

    std::optional<inspect::inspect_result> refused;
    for (auto const* role : admitting) {
        req.add_owner_label = role->constraints.ownership;
        auto result = inspect::inspect_request(req, *role);
        if (result.allowed()) {
            std::string failed;
            std::optional<inspect::requirement> failed_need;
            std::vector<std::pair<inspect::pin, std::string>> pins;
            for (auto const& need : result.requirements) {
                std::string id;
                failed = co_await check_requirement(need, *role, 0, &id);
                if (!failed.empty()) {
                    failed_need = need;
                    break;
                }
                if (need.pinned && !id.empty())
                    pins.emplace_back(*need.pinned, std::move(id));
            }
            if (!failed_need) {
                apply_pins(result, pins);
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
