#pragma once
// The ownership step of http_session<Stream> (included by http_session_impl.hpp only): when
// every role admitting the operation has `ownership = true`, the caller reaches only objects
// labelled with their name (see gateway/inspect/ownership.hpp for what each operation gets).
// Runs after allow/deny and before the body policy, so that someone else's object is "not
// found" whatever the request would otherwise have been refused for.

#include <algorithm>

#include <boost/json/serialize.hpp>

#include "gateway/inspect/json.hpp"
#include "gateway/inspect/ownership.hpp"

namespace dockgate::session {

// Resolves `ref` with the daemon's inspect and says whether the caller owns what it names (an
// exec through its container). status: the daemon's (404 for an exec whose container is gone),
// 0 when it could not be asked.
template <class Stream>
asio::awaitable<std::pair<unsigned, inspect::owned_object>>
http_session<Stream>::lookup_owned(inspect::owned_kind kind, std::string const& ref,
                                   std::string const& version) {
    auto const prefix = version.empty() ? std::string() : "/v" + version;
    auto [status, inspected] = co_await daemon_get(prefix + inspect::inspect_path(kind, ref));
    if (status != 200)
        co_return std::pair{status, inspect::owned_object{}};
    auto object = inspect::read_owned_object(kind, inspected, who_.user);
    if (kind == inspect::owned_kind::exec) {
        auto [cstatus, ctr] = co_await daemon_get(
            prefix + inspect::inspect_path(inspect::owned_kind::container, object.container_id));
        if (cstatus != 200)
            co_return std::pair{cstatus == 0 ? 0u : 404u, inspect::owned_object{}};
        object.owned =
            inspect::read_owned_object(inspect::owned_kind::container, ctr, who_.user).owned;
    }
    co_return std::pair{status, std::move(object)};
}

// A refusal of the ownership step: the reply, or in audit mode only the audit record.
template <class Stream>
asio::awaitable<std::optional<bool>>
http_session<Stream>::refuse_unowned(exchange& x, config::role const& role, bool audit_only,
                                     unsigned status, std::string message, std::string reason) {
    x.decision.role = role.name;
    x.decision.rule = "roles." + role.name + ".ownership";
    x.decision.reason = std::move(reason);
    if (audit_only) {
        x.decision_name = "would-deny";
        co_return std::nullopt;
    }
    x.decision_name = "deny";
    if (status == 0) {
        x.decision_name = "error";
        co_return co_await refuse(
            x, 502, "dockgate: the Docker daemon could not be asked who owns " + message);
    }
    co_return co_await refuse(x, status, std::move(message));
}

// Checks (and pins to its full id) one object the request names; nullopt when it is the
// caller's, else the refusal's keep-alive result. `resolved` receives the full id.
template <class Stream>
asio::awaitable<std::optional<bool>>
http_session<Stream>::require_owned(exchange& x, config::role const& role, bool audit_only,
                                    inspect::owned_kind kind, std::string const& ref,
                                    std::string const& version, std::string& resolved) {
    auto [status, object] = co_await lookup_owned(kind, ref, version);
    if (status == 200 && (object.owned || object.shared)) {
        resolved = object.id.empty() ? ref : object.id;
        co_return std::nullopt;
    }
    resolved = ref;
    if (status == 0)
        co_return co_await refuse_unowned(x, role, audit_only, 0, "\"" + ref + "\"",
                                          "daemon unreachable");
    co_return co_await refuse_unowned(x, role, audit_only, 404,
                                      inspect::not_found_message(kind, ref),
                                      status == 200 ? "not the caller's" : "no such object");
}

template <class Stream>
asio::awaitable<std::optional<bool>>
http_session<Stream>::confine_to_owner(exchange& x, http::canonical_target& target,
                                       engine_api::route_match& route) {
    using action = inspect::ownership_action;
    auto const step = inspect::ownership_step_for(x.operation, route.path_template);
    if (step.action == action::none)
        co_return std::nullopt;
    auto const pin = snap_;
    auto const admitting = pin->policy.admitting_roles(roles_, x.operation);
    if (admitting.empty() || !std::all_of(admitting.begin(), admitting.end(),
                                          [](auto const* r) { return r->constraints.ownership; }))
        co_return std::nullopt;
    auto const& role = *admitting.front();
    bool const audit_only = std::all_of(admitting.begin(), admitting.end(), [](auto const* r) {
        return r->mode == config::role_mode::audit;
    });
    auto const& version = target.api_version;

    if (step.action == action::refuse) {
        co_return co_await refuse_unowned(x, role, audit_only, 403,
                                          "dockgate: " + who_.user + " (role " + role.name +
                                              ") may not " + std::string(x.operation) + ": " +
                                              std::string(step.why) + " (roles." + role.name +
                                              ".ownership)",
                                          std::string(step.why));
    }

    if (step.action == action::target || step.action == action::connect_body) {
        // Every such route names its object in the segment after the collection.
        if (target.segments.size() < 2)
            co_return std::nullopt;
        auto const ref = target.segments[1];
        std::string id;
        if (auto refused = co_await require_owned(x, role, audit_only, step.kind, ref, version, id))
            co_return refused;
        if (id != ref) {
            target.replace_segment(1, id);
            for (auto& [name, value] : route.params) {
                if (value == ref)
                    value = id;
            }
            x.path = target.target();
        }
        if (step.action == action::target)
            co_return std::nullopt;

        // NetworkConnect/Disconnect: the body's container must be the caller's too.
        if (!co_await read_whole_body(x, pin->cfg->limits.body_bytes))
            co_return false;
        auto parsed = inspect::parse_json(*x.replacement);
        if (auto const* err = std::get_if<inspect::json_error>(&parsed)) {
            x.decision_name = "invalid";
            x.decision.reason = err->reason;
            co_return co_await refuse(x, 400,
                                      "dockgate: the body at byte " + std::to_string(err->offset) +
                                          ": " + err->reason);
        }
        auto& root = std::get<inspect::json_value>(parsed);
        auto* container = root.is_object() ? inspect::find_field(root, "Container") : nullptr;
        if (container != nullptr && container->is_string() && !container->text.empty()) {
            std::string const cref = container->text;
            std::string cid;
            if (auto refused = co_await require_owned(
                    x, role, audit_only, inspect::owned_kind::container, cref, version, cid))
                co_return refused;
            container->text = cid;
        }
        x.replacement = inspect::write_json(root);
        co_return std::nullopt;
    }

    auto query = inspect::parse_go_query(target.query);
    if (auto* err = std::get_if<std::string>(&query)) {
        x.decision_name = "invalid";
        x.decision.reason = *err;
        co_return co_await refuse(x, 400, "dockgate: invalid query: " + *err);
    }
    auto params = std::get<std::vector<inspect::query_param>>(std::move(query));

    if (step.action == action::commit_container) {
        auto const ref = inspect::query_get(params, "container");
        if (!ref || ref->empty())
            co_return std::nullopt; // the daemon refuses a commit of nothing
        std::string const cref(*ref);
        std::string cid;
        if (auto refused = co_await require_owned(
                x, role, audit_only, inspect::owned_kind::container, cref, version, cid))
            co_return refused;
        std::erase_if(params, [](auto const& p) { return p.key == "container"; });
        params.push_back({"container", cid});
        target.query = inspect::encode_go_query(params);
        x.path = target.target();
        co_return std::nullopt;
    }

    if (step.action == action::filter_query) {
        if (audit_only)
            co_return std::nullopt;
        auto confined = inspect::confine_filters(inspect::query_get(params, "filters"), who_.user);
        if (!confined.error.empty()) {
            x.decision_name = "invalid";
            x.decision.reason = confined.error;
            co_return co_await refuse(x, 400, "dockgate: " + confined.error);
        }
        std::erase_if(params, [](auto const& p) { return p.key == "filters"; });
        params.push_back({"filters", std::move(confined.value)});
        target.query = inspect::encode_go_query(params);
        x.path = target.target();
        co_return std::nullopt;
    }

    // SystemDataUsage: the daemon's reply, confined, answered here.
    if (audit_only)
        co_return std::nullopt;
    auto [status, usage] = co_await daemon_get(x.path, 64 * 1024 * 1024);
    if (status != 200 || !usage.is_object()) {
        x.decision_name = "error";
        x.decision.reason = "disk usage lookup failed";
        co_return co_await refuse(x, 502,
                                  "dockgate: the daemon's disk usage could not be read (status " +
                                      std::to_string(status) + ")");
    }
    inspect::confine_data_usage(usage, who_.user);
    auto& p = *x.request;
    bool const keep = p.is_done() && p.keep_alive();
    x.status = 200;
    auto const text =
        http::local_json_reply(200, boost::json::serialize(usage), !keep, x.head_request);
    watchdog_.set(slot::client_write, pin->cfg->limits.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(text), use_tuple);
    watchdog_.clear(slot::client_write);
    x.bytes_out += n;
    audit(x);
    co_return keep && !ec;
}

} // namespace dockgate::session
