#pragma once
// The body-policy step of http_session<Stream> (included by http_session_impl.hpp only): for
// operations whose body or query can reach the host, the body is read whole (up to
// limits.body_bytes), judged by gateway/inspect against each admitting role's constraints, the
// facts the judgement depends on are looked up from the daemon, and what is forwarded is the
// body that was judged, byte for byte.

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/host_path.hpp"
#include "gateway/inspect/daemon_rules.hpp"
#include "gateway/inspect/inspect.hpp"

namespace dockgate::session {

namespace detail {

inline bool has_constraints(config::role const& r) {
    auto const& c = r.constraints;
    return c.containers || c.volumes || c.images || c.build || c.ownership;
}

inline std::string json_string(boost::json::value const* v) {
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

inline boost::json::value const* at_path(boost::json::value const& v,
                                         std::initializer_list<char const*> path) {
    boost::json::value const* cur = &v;
    for (auto const* key : path) {
        if (!cur->is_object())
            return nullptr;
        cur = cur->as_object().if_contains(key);
        if (cur == nullptr)
            return nullptr;
    }
    return cur;
}

inline boost::json::value const* at_path_one(boost::json::value const& v, char const* key) {
    return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}

} // namespace detail

// GET of one daemon object on a connection of its own (the client's may be mid-request).
// Returns the status and the parsed JSON (null when the body is not JSON); status 0 when the
// daemon could not be asked.
template <class Stream>
asio::awaitable<std::pair<unsigned, boost::json::value>>
http_session<Stream>::daemon_get(std::string const& path, std::size_t body_limit) {
    auto const pin = snap_;
    asio::local::stream_protocol::socket socket(stream_.get_executor());
    watchdog_.set(slot::control,
                  pin->cfg->limits.upstream_connect_timeout + std::chrono::seconds(10));
    auto [cec] = co_await socket.async_connect(
        asio::local::stream_protocol::endpoint(pin->cfg->gateway.upstream_socket.string()),
        use_tuple);
    if (cec) {
        watchdog_.clear(slot::control);
        co_return std::pair{0u, boost::json::value()};
    }
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, path, 11};
    req.set(bhttp::field::host, "docker");
    req.set(bhttp::field::user_agent, "dockgate");
    req.keep_alive(false);
    auto [wec, wn] = co_await bhttp::async_write(socket, req, use_tuple);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(body_limit);
    auto [rec, rn] = wec ? std::tuple{wec, std::size_t{0}}
                         : co_await bhttp::async_read(socket, buffer, parser, use_tuple);
    watchdog_.clear(slot::control);
    if (wec || rec)
        co_return std::pair{0u, boost::json::value()};
    boost::system::error_code jec;
    auto value = boost::json::parse(parser.get().body(), jec);
    co_return std::pair{parser.get().result_int(), jec ? boost::json::value() : std::move(value)};
}

// An existing object's judgement (judge_existing_container/volume): why it fails, or "" once
// its own requirements hold too.
template <class Stream>
asio::awaitable<std::string>
http_session<Stream>::check_existing(std::string const& what, inspect::inspect_result const& judged,
                                     config::role const& role, std::string const& version,
                                     int depth) {
    if (!judged.allowed()) {
        std::string why = what + " has " + judged.detail.field + " (" + judged.detail.rule + ")";
        auto const colon = judged.detail.message.find("): ");
        if (colon != std::string::npos)
            why += ": " + judged.detail.message.substr(colon + 3);
        co_return why;
    }
    for (auto const& need : judged.requirements) {
        auto failed = co_await check_requirement(need, role, version, depth + 1);
        if (!failed.empty())
            co_return what + " has " + need.field + ": " + failed;
    }
    co_return std::string();
}

// Resolves one requirement of an allowing judgement; returns why it fails, or "" when it holds.
// `depth` counts the existing objects judged on the way here (a container joining a container
// that joins another ...).
template <class Stream>
asio::awaitable<std::string>
http_session<Stream>::check_requirement(inspect::requirement const& need, config::role const& role,
                                        std::string const& version, int depth) {
    using kind = inspect::requirement_kind;
    if (depth > max_existing_depth)
        co_return std::string("containers and volumes nested too deeply to judge");
    if (requirements_left_-- <= 0)
        co_return "more than " + std::to_string(max_requirements_per_request) +
            " containers, volumes, networks and images to look up for one request";
    auto const prefix = version.empty() ? std::string() : "/v" + version;
    auto const owned = [&](inspect::owned_kind k, boost::json::value const& inspected) {
        return inspect::read_owned_object(k, inspected, who_.user);
    };
    switch (need.kind) {
    case kind::image_user_non_root:
    case kind::image_registry: {
        auto [status, image] = co_await daemon_get(
            prefix + "/images/" + http::encode_path_segment(need.subject) + "/json");
        if (status == 404)
            co_return std::string(); // the daemon refuses to create from a missing image anyway
        if (status != 200)
            co_return std::string("the image could not be inspected");
        if (need.kind == kind::image_user_non_root) {
            auto const user = detail::json_string(detail::at_path(image, {"Config", "User"}));
            auto const j = inspect::judge_user(user);
            if (j.verdict == inspect::user_class::non_root)
                co_return std::string();
            co_return user.empty()
                ? "the image runs as root (no User set; pass --user UID:GID)"
                : "the image's user \"" + user + "\" is not a numeric non-root uid:gid";
        }
        // (a named array: GCC 12 cannot keep a braced list's array in a coroutine frame)
        static constexpr std::array<char const*, 2> lists{"RepoTags", "RepoDigests"};
        for (std::size_t i = 0; i < lists.size(); ++i) {
            auto const* refs = detail::at_path_one(image, lists[i]);
            if (refs == nullptr || !refs->is_array())
                continue;
            for (auto const& ref : refs->as_array()) {
                if (ref.is_string() &&
                    inspect::image_allowed(std::string_view(ref.as_string()), role))
                    co_return std::string();
            }
        }
        co_return std::string("the image is not from a trusted registry");
    }
    case kind::container_owned:
    case kind::container_user_non_root: {
        auto [status, ctr] = co_await daemon_get(prefix + "/containers/" +
                                                 http::encode_path_segment(need.subject) + "/json");
        if (status != 200)
            co_return std::string("no such container");
        if (need.kind == kind::container_owned) {
            if (!owned(inspect::owned_kind::container, ctr).owned)
                co_return std::string("the container is not yours");
            auto const* privileged = detail::at_path(ctr, {"HostConfig", "Privileged"});
            if (privileged != nullptr && privileged->is_bool() && privileged->as_bool())
                co_return std::string("the container is privileged");
            if (!role.constraints.containers)
                co_return std::string();
            // Sharing its namespaces or volumes gives what it has: it must be within the role.
            co_return co_await check_existing(
                "the container", inspect::judge_existing_container(ctr, role, who_.user), role,
                version, depth);
        }
        auto user = detail::json_string(detail::at_path(ctr, {"Config", "User"}));
        if (user.empty()) {
            auto const image_path =
                prefix + "/images/" +
                http::encode_path_segment(detail::json_string(detail::at_path_one(ctr, "Image"))) +
                "/json";
            auto [istatus, image] = co_await daemon_get(image_path);
            if (istatus != 200)
                co_return std::string("the container's image could not be inspected");
            user = detail::json_string(detail::at_path(image, {"Config", "User"}));
        }
        if (inspect::judge_user(user).verdict == inspect::user_class::non_root)
            co_return std::string();
        co_return "the exec would run as the container's user \"" +
            (user.empty() ? std::string("root") : user) + "\"";
    }
    case kind::network_not_host: {
        auto [status, net] =
            co_await daemon_get(prefix + "/networks/" + http::encode_path_segment(need.subject));
        if (status == 404)
            co_return std::string(); // the daemon refuses an unknown network anyway
        if (status != 200)
            co_return std::string("the network could not be inspected");
        auto const driver = detail::json_string(detail::at_path(net, {"Driver"}));
        if (driver == "host")
            co_return std::string("it is the host's network");
        if (auto const mine = owned(inspect::owned_kind::network, net);
            role.constraints.ownership && !mine.owned && !mine.shared)
            co_return std::string("the network is not yours");
        co_return std::string();
    }
    case kind::host_path_within: {
        auto const resolved = resolve_host_path(need.subject);
        if (!resolved.error.empty())
            co_return "the host path cannot be resolved (" + resolved.error + ")";
        if (!role.constraints.containers)
            co_return std::string("no bind_sources to check against");
        auto const& roots = role.constraints.containers->bind_sources;
        for (auto const& root : roots) {
            auto const real_root = resolve_host_path(root);
            auto const& within = real_root.error.empty() ? real_root.path : root;
            if (config::path_within(resolved.path, within))
                co_return std::string();
        }
        co_return "the host path leads to " + resolved.path + " through a symbolic link";
    }
    case kind::container_confined: {
        auto [status, ctr] = co_await daemon_get(prefix + "/containers/" +
                                                 http::encode_path_segment(need.subject) + "/json");
        if (status == 404)
            co_return std::string(); // the daemon refuses to exec in a missing container
        if (status != 200)
            co_return std::string("the container could not be inspected");
        co_return co_await check_existing("the container",
                                          inspect::judge_existing_container(ctr, role, who_.user),
                                          role, version, depth);
    }
    case kind::volume_owned:
    case kind::volume_confined: {
        auto [status, vol] =
            co_await daemon_get(prefix + "/volumes/" + http::encode_path_segment(need.subject));
        if (status == 404)
            co_return std::string(); // created now, plain (or with the options judged here)
        if (status != 200)
            co_return std::string("the volume could not be inspected");
        if (need.kind == kind::volume_confined)
            co_return co_await check_existing("the volume",
                                              inspect::judge_existing_volume(vol, role, who_.user),
                                              role, version, depth);
        if (!owned(inspect::owned_kind::volume, vol).owned)
            co_return std::string("the volume is not yours");
        co_return std::string();
    }
    }
    co_return std::string("unknown requirement");
}

// Reads the whole request body into x.replacement (de-chunked). False when it was refused
// (413, answered) or the client went away.
template <class Stream>
asio::awaitable<bool> http_session<Stream>::read_whole_body(exchange& x, std::uint64_t limit) {
    auto const pin = snap_;
    auto& p = *x.request;
    auto const owned = take_relay_buffer();
    std::string body;
    while (!p.is_done()) {
        p.get().body().data = owned.get();
        p.get().body().size = relay_buffer_size;
        watchdog_.set(slot::client_read, pin->cfg->limits.idle_timeout);
        auto [ec, n] = co_await bhttp::async_read_some(stream_, client_buffer_, p, use_tuple);
        watchdog_.clear(slot::client_read);
        if (ec == bhttp::error::need_buffer)
            ec = {};
        if (ec)
            co_return false;
        x.bytes_in += n;
        body.append(owned.get(), relay_buffer_size - p.get().body().size);
        if (body.size() > limit) {
            x.decision_name = "deny";
            x.decision.reason = "body larger than limits.body_bytes";
            co_await reply(x, 413,
                           "dockgate: the request body is larger than limits.body_bytes (" +
                               std::to_string(limit) + " bytes) and cannot be inspected",
                           true);
            co_return false;
        }
    }
    x.replacement = std::move(body);
    co_return true;
}

// Judges the request against the admitting roles' constraints. Returns nullopt when it may be
// forwarded (x.replacement then holds the body to forward, if one was read), or the
// keep-alive result of the refusal already sent.
template <class Stream>
asio::awaitable<std::optional<bool>>
http_session<Stream>::apply_constraints(exchange& x, http::canonical_target& target,
                                        engine_api::route_match const& route) {
    auto const handling = inspect::handling_for(x.operation);
    if (handling == inspect::body_handling::none)
        co_return std::nullopt;
    auto const pin = snap_;
    auto const candidates = pin->policy.admitting_roles(roles_, x.operation);
    if (std::none_of(candidates.begin(), candidates.end(),
                     [](auto const* r) { return detail::has_constraints(*r); }))
        co_return std::nullopt;

    auto query = inspect::parse_go_query(target.query);
    if (auto* err = std::get_if<std::string>(&query)) {
        x.decision_name = "invalid";
        x.decision.reason = *err;
        co_return co_await refuse(x, 400, "dockgate: invalid query: " + *err);
    }
    auto const& params = std::get<std::vector<inspect::query_param>>(query);
    if (handling == inspect::body_handling::buffer_json &&
        !co_await read_whole_body(x, pin->cfg->limits.body_bytes))
        co_return false;

    std::string target_param;
    for (auto const& [name, value] : route.params) {
        if (name == "id" || name == "name")
            target_param = value;
    }
    auto const& req = x.request->get();
    inspect::request ireq;
    ireq.operation = x.operation;
    ireq.query = params;
    ireq.body = x.replacement ? std::string_view(*x.replacement) : std::string_view();
    ireq.content_type = req[bhttp::field::content_type];
    ireq.target = target_param;
    ireq.user = who_.user;

    std::optional<inspect::inspect_result> refusal;
    requirements_left_ = max_requirements_per_request;
    for (auto const* role : candidates) {
        ireq.add_owner_label = role->constraints.ownership;
        auto result = inspect::inspect_request(ireq, *role);
        if (result.allowed()) {
            std::string failed;
            inspect::requirement const* failed_need = nullptr;
            for (auto const& need : result.requirements) {
                failed = co_await check_requirement(need, *role, target.api_version);
                if (!failed.empty()) {
                    failed_need = &need;
                    break;
                }
            }
            if (failed_need == nullptr) {
                if (result.body_replaced)
                    x.replacement = std::move(result.forward_body);
                if (result.forward_query) {
                    target.query = std::move(*result.forward_query);
                    x.path = target.target();
                }
                if (x.decision.role != role->name) {
                    x.decision.role = role->name;
                    x.decision.rule = "roles." + role->name + ".allow";
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
            result.detail.message = "dockgate: " + who_.user + " (role " + role->name +
                                    ") may not " +
                                    std::string(inspect::operation_action(x.operation)) + " with " +
                                    field + " (" + failed_need->rule + "): " + failed;
        }
        if (!refusal || (refusal->decision == inspect::inspect_result::verdict::invalid &&
                         result.decision == inspect::inspect_result::verdict::deny))
            refusal = std::move(result);
    }
    // A role in audit mode lets through what it would refuse and says so in the audit trail.
    auto const refusing = std::find_if(candidates.begin(), candidates.end(), [&](auto const* r) {
        return r->name == refusal->detail.role;
    });
    if (refusing != candidates.end() && (*refusing)->mode == config::role_mode::audit &&
        refusal->decision == inspect::inspect_result::verdict::deny) {
        x.decision_name = "would-deny";
        x.decision.role = refusal->detail.role;
        x.decision.rule = refusal->detail.rule;
        x.decision.reason = refusal->detail.message;
        co_return std::nullopt;
    }
    x.decision_name =
        refusal->decision == inspect::inspect_result::verdict::invalid ? "invalid" : "deny";
    x.decision.role = refusal->detail.role;
    x.decision.rule = refusal->detail.rule;
    x.decision.reason =
        refusal->detail.field.empty() ? refusal->detail.message : refusal->detail.field;
    // A streamed body (build context) not read yet is dropped or the connection closed.
    co_return co_await refuse(x, static_cast<unsigned>(refusal->http_status()),
                              refusal->detail.message);
}

} // namespace dockgate::session
