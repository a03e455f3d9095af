// Ownership isolation (see gateway/inspect/ownership.hpp for what each operation gets): when
// every role admitting the operation has `ownership = true`, the caller reaches only objects
// labelled with their name. Runs before the constraint step, so that someone else's object is
// "not found" whatever the request would otherwise have been refused for.

#include <algorithm>
#include <array>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/admission/state.hpp"
#include "gateway/inspect/go_query.hpp"
#include "gateway/inspect/json.hpp"

namespace dockgate::admission {

// Resolves `ref` with the daemon's inspect and says whether the caller owns what it names (an
// exec through its container). status: the daemon's (404 for an exec whose container is gone),
// 0 when it could not be asked.
detail::task<std::pair<unsigned, inspect::owned_object>>
admission::state::lookup_owned(inspect::owned_kind kind, std::string ref) {
    auto [status, inspected] = co_await get_json(inspect::inspect_path(kind, ref));
    if (status != 200)
        co_return std::pair{status, inspect::owned_object{}};
    auto object = inspect::read_owned_object(kind, inspected, who.user);
    if (kind == inspect::owned_kind::exec) {
        auto [cstatus, ctr] = co_await get_json(
            inspect::inspect_path(inspect::owned_kind::container, object.container_id));
        if (cstatus != 200)
            co_return std::pair{cstatus == 0 ? 0u : 404u, inspect::owned_object{}};
        object.owned =
            inspect::read_owned_object(inspect::owned_kind::container, ctr, who.user).owned;
    }
    co_return std::pair{status, std::move(object)};
}

// A refusal of the ownership step: the verdict, or in audit mode only a note for the audit line.
std::optional<verdict> admission::state::refuse_unowned(config::role const& role, bool audit_only,
                                                        unsigned status, std::string message,
                                                        std::string reason) {
    std::string const rule = "roles." + role.name + ".ownership";
    if (audit_only) {
        if (!would_deny)
            would_deny = audit_note{role.name, rule, std::move(reason)};
        return std::nullopt;
    }
    if (status == 0)
        return refusal(outcome::error, 502,
                       "dockgate: the Docker daemon could not be asked who owns " + message,
                       std::move(reason), role.name, rule);
    return refusal(outcome::deny, status, std::move(message), std::move(reason), role.name, rule);
}

// Checks (and pins to its full id) one object the request names; nullopt when it is the
// caller's (or in audit mode), else the refusal. `resolved` receives the full id.
detail::task<std::optional<verdict>>
admission::state::require_owned(config::role const& role, bool audit_only, inspect::owned_kind kind,
                                std::string ref, std::string& resolved) {
    auto [status, object] = co_await lookup_owned(kind, ref);
    if (status == 200 && (object.owned || object.shared)) {
        resolved = object.id.empty() ? ref : object.id;
        co_return std::nullopt;
    }
    resolved = ref;
    if (status == 0)
        co_return refuse_unowned(role, audit_only, 0, "\"" + ref + "\"", "daemon unreachable");
    co_return refuse_unowned(role, audit_only, 404, inspect::not_found_message(kind, ref),
                             status == 200 ? "not the caller's" : "no such object");
}

detail::task<std::optional<verdict>> admission::state::ownership_step() {
    using action = inspect::ownership_action;
    auto const step = inspect::ownership_step_for(operation, route->path_template);
    if (step.action == action::none || admitting.empty() ||
        !std::all_of(admitting.begin(), admitting.end(),
                     [](auto const* r) { return r->constraints.ownership; }))
        co_return std::nullopt;
    auto const& role = *admitting.front();
    bool const audit_only = std::all_of(admitting.begin(), admitting.end(), [](auto const* r) {
        return r->mode == config::role_mode::audit;
    });

    if (step.action == action::refuse) {
        co_return refuse_unowned(role, audit_only, 403,
                                 "dockgate: " + who.user + " (role " + role.name + ") may not " +
                                     std::string(operation) + ": " + std::string(step.why) +
                                     " (roles." + role.name + ".ownership)",
                                 std::string(step.why));
    }

    if (step.action == action::target || step.action == action::connect_body) {
        // Every such route names its object in the segment after the collection.
        if (target->segments.size() < 2)
            co_return std::nullopt;
        // Only a link's name spans segments ("parent/alias", `docker rm --link`): it names two
        // containers and resolves to one, and cannot be pinned to an ID the way a name is.
        if (target->segments.size() > 2 && route->path_template == "/containers/{id}") {
            co_return refuse_unowned(
                role, audit_only, 403,
                "dockgate: " + who.user + " (role " + role.name + ") may not " +
                    std::string(operation) +
                    " by a link name (parent/alias): ownership is judged by container "
                    "(roles." +
                    role.name + ".ownership)",
                "link name under ownership");
        }
        std::string const ref = target->segments[1];
        std::string id;
        if (auto refused = co_await require_owned(role, audit_only, step.kind, ref, id))
            co_return refused;
        if (id != ref) {
            target->replace_segment(1, id);
            for (auto& [name, value] : route->params) {
                if (value == ref)
                    value = id;
            }
        }
        if (step.action == action::target)
            co_return std::nullopt;

        // NetworkConnect/Disconnect: the body's container must be the caller's too.
        auto parsed = inspect::parse_json(body);
        if (auto const* err = std::get_if<inspect::json_error>(&parsed)) {
            co_return refusal(outcome::invalid, 400,
                              "dockgate: the body at byte " + std::to_string(err->offset) + ": " +
                                  err->reason,
                              err->reason);
        }
        auto& root = std::get<inspect::json_value>(parsed);
        auto* container = root.is_object() ? inspect::find_field(root, "Container") : nullptr;
        if (container != nullptr && container->is_string() && !container->text.empty()) {
            std::string const cref = container->text;
            std::string cid;
            if (auto refused = co_await require_owned(role, audit_only,
                                                      inspect::owned_kind::container, cref, cid))
                co_return refused;
            container->text = cid;
        }
        body_out = inspect::write_json(root);
        co_return std::nullopt;
    }

    auto query = inspect::parse_go_query(target->query);
    if (auto* err = std::get_if<std::string>(&query))
        co_return refusal(outcome::invalid, 400, "dockgate: invalid query: " + *err, *err);
    auto params = std::get<std::vector<inspect::query_param>>(std::move(query));

    if (step.action == action::create_named) {
        // Names are one namespace for every user of the daemon. A name someone else's object
        // holds is refused without saying whose or which object it is (the daemon's conflict
        // would name its id; a volume create would hand the existing volume out).
        std::string name;
        if (step.kind == inspect::owned_kind::container) {
            name = std::string(inspect::query_get(params, "name").value_or(""));
        } else if (auto parsed = inspect::parse_json(body);
                   std::holds_alternative<inspect::json_value>(parsed)) {
            auto& root = std::get<inspect::json_value>(parsed);
            auto const* n = root.is_object() ? inspect::find_field(root, "Name") : nullptr;
            if (n != nullptr && n->is_string())
                name = n->text;
        }
        if (name.empty())
            co_return std::nullopt;
        auto [status, inspected] = co_await get_json(inspect::inspect_path(step.kind, name));
        if (status == 404 || (status == 200 && inspect::object_name(step.kind, inspected) != name))
            co_return std::nullopt; // free (or only an id prefix of another object)
        if (status == 200) {
            auto const object = inspect::read_owned_object(step.kind, inspected, who.user);
            if (object.owned || object.shared)
                co_return std::nullopt; // the daemon's own answer is about the caller's object
        }
        co_return refuse_unowned(role, audit_only, status == 200 ? 409 : 0,
                                 status == 200 ? "dockgate: the name \"" + name +
                                                     "\" is in use (names are shared by every "
                                                     "user of this daemon; choose another)"
                                               : "\"" + name + "\"",
                                 status == 200 ? "name held by someone else"
                                               : "daemon unreachable");
    }

    if (step.action == action::filter_query && operation == "ContainerList") {
        // since/before name a container the daemon resolves, answering "No such container"
        // when it is missing: someone else's must look missing too.
        static constexpr std::array<std::string_view, 2> keys{"since", "before"};
        for (auto const key : keys) {
            auto refs = inspect::filter_values(inspect::query_get(params, "filters"), key);
            if (auto legacy = inspect::query_get(params, key); legacy && !legacy->empty())
                refs.emplace_back(*legacy);
            for (auto const& ref : refs) {
                std::string id;
                if (auto refused = co_await require_owned(role, audit_only,
                                                          inspect::owned_kind::container, ref, id))
                    co_return refused;
            }
        }
    }

    if (step.action == action::commit_container) {
        auto const ref = inspect::query_get(params, "container");
        if (!ref || ref->empty())
            co_return std::nullopt; // the daemon refuses a commit of nothing
        std::string const cref(*ref);
        std::string cid;
        if (auto refused =
                co_await require_owned(role, audit_only, inspect::owned_kind::container, cref, cid))
            co_return refused;
        std::erase_if(params, [](auto const& p) { return p.key == "container"; });
        params.push_back({"container", cid});
        target->query = inspect::encode_go_query(params);
        co_return std::nullopt;
    }

    if (step.action == action::filter_query) {
        if (audit_only)
            co_return std::nullopt;
        auto confined = inspect::confine_filters(inspect::query_get(params, "filters"), who.user);
        if (!confined.error.empty())
            co_return refusal(outcome::invalid, 400, "dockgate: " + confined.error, confined.error);
        std::erase_if(params, [](auto const& p) { return p.key == "filters"; });
        params.push_back({"filters", std::move(confined.value)});
        target->query = inspect::encode_go_query(params);
        co_return std::nullopt;
    }

    // SystemDataUsage: the daemon's reply, confined, answered here.
    if (audit_only)
        co_return std::nullopt;
    std::string path = target->path.substr(version_prefix().size());
    if (!target->query.empty())
        path += "?" + target->query;
    auto reply = co_await get(std::move(path), max_data_usage_bytes);
    boost::system::error_code ec;
    auto usage = boost::json::parse(reply.body, ec);
    if (reply.status != 200 || ec || !usage.is_object())
        co_return refusal(outcome::error, 502,
                          "dockgate: the daemon's disk usage could not be read (status " +
                              std::to_string(reply.status) + ")",
                          "disk usage lookup failed");
    inspect::confine_data_usage(usage, who.user);
    auto v = forwarded();
    v.status = 200;
    v.reply_body = boost::json::serialize(usage);
    co_return v;
}

} // namespace dockgate::admission
