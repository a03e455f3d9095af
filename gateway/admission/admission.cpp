// The flow of one decision: the head (target, route, allow/deny lists) is judged when the
// admission is made; start() then runs the ownership and constraint steps, which may stop for
// daemon look-ups, and ends with what is forwarded.

#include <algorithm>

#include <boost/json/parse.hpp>

#include "gateway/admission/state.hpp"
#include "gateway/inspect/go_query.hpp"
#include "gateway/inspect/request_facts.hpp"

namespace dockgate::admission {

namespace {

bool constrains(config::role const& r) {
    return !r.constraints.empty();
}

} // namespace

std::string json_text(boost::json::value const* v) {
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

boost::json::value const* json_at(boost::json::value const& v,
                                  std::initializer_list<char const*> path) {
    boost::json::value const* cur = &v;
    for (auto key : path) {
        if (!cur->is_object())
            return nullptr;
        cur = cur->as_object().if_contains(key);
        if (cur == nullptr)
            return nullptr;
    }
    return cur;
}

admission::state::state(std::shared_ptr<server::snapshot const> snap_in,
                        policy::identity const& who_in, std::vector<std::string> roles_in,
                        request_head head_in, host_path_resolver resolve_in)
    : snap(std::move(snap_in))
    , who(who_in)
    , roles(std::move(roles_in))
    , head(std::move(head_in))
    , resolve(std::move(resolve_in)) {
    body_bytes = snap->cfg->limits.body_bytes;
    auto canonical = http::canonicalize_target(head.target);
    if (auto* err = std::get_if<http::target_error>(&canonical)) {
        auto v = refusal(outcome::invalid, 400, "dockgate: invalid request target: " + err->reason,
                         err->reason);
        v.target = head.target.substr(0, 256);
        early = std::move(v);
        return;
    }
    target = std::move(std::get<http::canonical_target>(canonical));
    route = engine_api::route_table::engine_api().match(head.method, target->segments);
    if (!route) {
        early = refusal(outcome::deny, 403,
                        "dockgate: " + who.user + " may not " + head.method + " " + target->path +
                            ": not an Engine API route",
                        "not an Engine API route");
        return;
    }
    operation = route->operation;
    lists = snap->policy.evaluate(who, roles, operation);
    if (!lists.forwards()) {
        early = refusal(outcome::deny, 403,
                        policy::policy_engine::denial_message(who, operation, lists), lists.reason,
                        lists.role, lists.rule);
        return;
    }
    // net/http reads a form body's values before the query's (r.FormValue, ParseForm): what the
    // daemon would act on is then not what the target says.
    if (head.has_body && inspect::is_form_content_type(head.content_type)) {
        early = refusal(outcome::invalid, 400,
                        "dockgate: request refused: a form Content-Type (the daemon would read "
                        "parameters from the body); send application/json",
                        "form body");
        return;
    }
    admitting = snap->policy.admitting_roles(roles, operation);
    auditing = lists.result == outcome::would_deny ||
               std::any_of(admitting.begin(), admitting.end(),
                           [](auto const* r) { return r->mode == config::role_mode::audit; });
    if (auditing && inspect::handling_for(operation) == inspect::body_handling::buffer_json)
        wants_body = true;
    if (lists.result == outcome::would_deny || admitting.empty())
        return;
    bool const owned_only = std::all_of(admitting.begin(), admitting.end(),
                                        [](auto const* r) { return r->constraints.ownership; });
    auto const step = inspect::ownership_step_for(operation, route->path_template);
    if (owned_only && step.action == inspect::ownership_action::connect_body)
        wants_body = true;
    if (inspect::handling_for(operation) == inspect::body_handling::buffer_json &&
        std::any_of(admitting.begin(), admitting.end(),
                    [](auto const* r) { return constrains(*r); }))
        wants_body = true;
    if (std::any_of(admitting.begin(), admitting.end(),
                    [&](auto const* r) { return inspect::reads_build_context(operation, *r); })) {
        wants_body = true;
        body_bytes = snap->cfg->limits.build_context_bytes;
    }
}

std::string admission::state::version_prefix() const {
    return target && !target->api_version.empty() ? "/v" + target->api_version : std::string();
}

verdict admission::state::refusal(outcome result, unsigned status, std::string message,
                                  std::string reason, std::string role_name,
                                  std::string rule_name) const {
    verdict v;
    v.result = result;
    v.status = status;
    v.message = std::move(message);
    v.reason = std::move(reason);
    v.role = std::move(role_name);
    v.rule = std::move(rule_name);
    v.target = target ? target->target() : head.target.substr(0, 256);
    v.close_connection = result == outcome::invalid;
    return v;
}

verdict admission::state::forwarded() const {
    verdict v;
    v.status = 0;
    v.target = target->target();
    v.role = deciding_role.empty() ? lists.role : deciding_role;
    v.rule = deciding_rule.empty() ? lists.rule : deciding_rule;
    v.result = lists.result;
    if (lists.result == outcome::would_deny)
        v.reason = lists.reason;
    if (would_deny) {
        v.result = outcome::would_deny;
        v.role = would_deny->role;
        v.rule = would_deny->rule;
        v.reason = would_deny->reason;
    }
    if (body_read)
        v.forward_body = body_out ? *body_out : body;
    auto const handling = inspect::handling_for(operation);
    if (body_read || (handling == inspect::body_handling::query_only &&
                      (auditing || std::any_of(admitting.begin(), admitting.end(),
                                               [](auto const* r) { return constrains(*r); })))) {
        auto query = inspect::parse_go_query(target->query);
        if (auto const* params = std::get_if<std::vector<inspect::query_param>>(&query))
            v.request_facts = inspect::request_facts(
                operation, *params, v.forward_body ? std::string_view(*v.forward_body) : "");
    }
    return v;
}

detail::task<daemon_reply> admission::state::get(std::string path, std::size_t max_bytes) {
    std::string full = version_prefix() + path;
    if (lookups_left <= 0) {
        made.push_back({std::move(full), 0});
        co_return daemon_reply{};
    }
    --lookups_left;
    lookup what;
    what.path = full;
    what.max_bytes = max_bytes;
    auto reply = co_await channel.ask(std::move(what));
    made.push_back({std::move(full), reply.status});
    co_return reply;
}

detail::task<std::pair<unsigned, boost::json::value>> admission::state::get_json(std::string path) {
    auto reply = co_await get(std::move(path));
    boost::system::error_code ec;
    auto value = boost::json::parse(reply.body, ec);
    co_return std::pair{reply.status, ec ? boost::json::value() : std::move(value)};
}

detail::task<verdict> admission::state::decide() {
    if (auto refused = co_await ownership_step())
        co_return std::move(*refused);
    if (auto refused = co_await constraint_step())
        co_return std::move(*refused);
    co_return forwarded();
}

admission::admission(std::shared_ptr<server::snapshot const> snapshot, policy::identity const& who,
                     std::vector<std::string> roles, request_head head, host_path_resolver resolve)
    : state_(std::make_unique<state>(std::move(snapshot), who, std::move(roles), std::move(head),
                                     std::move(resolve))) {}

admission::~admission() = default;

std::string_view admission::operation() const noexcept {
    return state_->operation;
}

std::optional<std::uint64_t> admission::body_limit() const noexcept {
    if (state_->early || !state_->wants_body)
        return std::nullopt;
    return state_->body_bytes;
}

std::vector<lookup_record> const& admission::lookups() const noexcept {
    return state_->made;
}

step admission::start(std::string body) {
    auto& s = *state_;
    if (s.early) {
        s.final = std::move(*s.early);
        s.early.reset();
        return next();
    }
    if (s.wants_body) {
        s.body = std::move(body);
        s.body_read = true;
    }
    s.flow.emplace(s.decide());
    s.flow->start();
    return next();
}

step admission::body_too_large() {
    auto& s = *state_;
    bool const context = s.body_bytes != s.snap->cfg->limits.body_bytes;
    std::string const key = context ? "limits.build_context_bytes" : "limits.body_bytes";
    s.final = s.refusal(outcome::invalid, 413,
                        "dockgate: the request body is larger than " + key + " (" +
                            std::to_string(s.body_bytes) + " bytes) and cannot be inspected",
                        "body larger than " + key);
    s.early.reset();
    return next();
}

step admission::resume(daemon_reply reply) {
    state_->channel.answer(std::move(reply));
    return next();
}

step admission::next() {
    auto& s = *state_;
    step out;
    if (s.flow && s.channel.waiting()) {
        out.lookup_ = &s.channel.pending();
        return out;
    }
    if (s.flow && s.flow->done()) {
        s.final = s.flow->take_result();
        s.flow.reset();
    }
    out.verdict_ = &s.final;
    return out;
}

} // namespace dockgate::admission
