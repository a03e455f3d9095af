// The daemon facts a constraint depends on (inspect::requirement): each is looked up and judged
// here; what already exists on the daemon (a container joined or exec'd in, a named volume
// mounted) is judged as if the role were creating it now.

#include <array>

#include "common/host_path.hpp"
#include "gateway/admission/state.hpp"
#include "gateway/inspect/daemon_rules.hpp"
#include "gateway/inspect/go_query.hpp"

namespace dockgate::admission {

namespace {

std::string container_path(std::string_view ref) {
    return "/containers/" + http::encode_path_segment(ref) + "/json";
}

std::string image_path(std::string_view ref, std::string const& platform = {}) {
    std::string path = "/images/" + http::encode_path_segment(ref) + "/json";
    if (!platform.empty()) {
        inspect::query_param const p{"platform", platform};
        path += '?';
        path += inspect::encode_go_query(std::span(&p, 1));
    }
    return path;
}

} // namespace

// An existing object's judgement (judge_existing_container/volume): why it fails, or "" once
// its own requirements hold too.
detail::task<std::string> admission::state::check_existing(std::string what,
                                                           inspect::inspect_result judged,
                                                           config::role const& role, int depth) {
    if (!judged.allowed()) {
        std::string why = what + " has " + judged.detail.field + " (" + judged.detail.rule + ")";
        auto const colon = judged.detail.message.find("): ");
        if (colon != std::string::npos)
            why += ": " + judged.detail.message.substr(colon + 3);
        co_return why;
    }
    for (auto const& need : judged.requirements) {
        auto failed = co_await check_requirement(need, role, depth + 1);
        if (!failed.empty())
            co_return what + " has " + need.field + ": " + failed;
    }
    co_return std::string();
}

// Resolves one requirement of an allowing judgement; returns why it fails, or "" when it holds.
// `depth` counts the existing objects judged on the way here (a container joining a container
// that joins another ...).
detail::task<std::string> admission::state::check_requirement(inspect::requirement need,
                                                              config::role const& role, int depth,
                                                              std::string* resolved) {
    using kind = inspect::requirement_kind;
    if (depth > max_existing_depth)
        co_return std::string("containers and volumes nested too deeply to judge");
    if (lookups_left <= 0)
        co_return "more than " + std::to_string(max_lookups) +
            " containers, volumes, networks and images to look up for one request";
    auto const owned = [&](inspect::owned_kind k, boost::json::value const& inspected) {
        return inspect::read_owned_object(k, inspected, who.user);
    };
    switch (need.kind) {
    case kind::image_user_non_root:
    case kind::image_registry: {
        auto [status, image] = co_await get_json(image_path(need.subject, platform));
        if (status == 404)
            co_return std::string(); // the daemon refuses to create from a missing image anyway
        if (status != 200)
            co_return std::string("the image could not be inspected");
        if (need.kind == kind::image_user_non_root) {
            auto const user = json_text(json_at(image, {"Config", "User"}));
            if (inspect::judge_user(user).verdict == inspect::user_class::non_root)
                co_return std::string();
            co_return user.empty()
                ? "the image runs as root (no User set; pass --user UID:GID)"
                : "the image's user \"" + user + "\" is not a numeric non-root uid:gid";
        }
        // (a named array: GCC 12 cannot keep a braced list's array in a coroutine frame)
        static constexpr std::array<char const*, 2> lists{"RepoTags", "RepoDigests"};
        for (auto const* list : lists) {
            auto const* refs = json_at(image, {list});
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
        auto [status, ctr] = co_await get_json(container_path(need.subject));
        if (status != 200)
            co_return std::string("no such container");
        if (resolved != nullptr)
            *resolved = json_text(json_at(ctr, {"Id"}));
        if (need.kind == kind::container_owned) {
            if (!owned(inspect::owned_kind::container, ctr).owned)
                co_return std::string("the container is not yours");
            auto const* privileged = json_at(ctr, {"HostConfig", "Privileged"});
            if (privileged != nullptr && privileged->is_bool() && privileged->as_bool())
                co_return std::string("the container is privileged");
            if (!role.constraints.containers)
                co_return std::string();
            // Sharing its namespaces or volumes gives what it has: it must be within the role.
            co_return co_await check_existing(
                std::string("the container"),
                inspect::judge_existing_container(ctr, role, who.user), role, depth);
        }
        auto user = json_text(json_at(ctr, {"Config", "User"}));
        if (user.empty()) {
            // (computed apart: GCC 12 cannot keep a braced list's array in a coroutine frame)
            auto const image_ref = json_text(json_at(ctr, {"Image"}));
            auto [istatus, image] = co_await get_json(image_path(image_ref));
            if (istatus != 200)
                co_return std::string("the container's image could not be inspected");
            user = json_text(json_at(image, {"Config", "User"}));
        }
        if (inspect::judge_user(user).verdict == inspect::user_class::non_root)
            co_return std::string();
        co_return "the exec would run as the container's user \"" +
            (user.empty() ? std::string("root") : user) + "\"";
    }
    case kind::network_not_host: {
        auto [status, net] =
            co_await get_json("/networks/" + http::encode_path_segment(need.subject));
        if (status == 404)
            co_return std::string(); // the daemon refuses an unknown network anyway
        if (status != 200)
            co_return std::string("the network could not be inspected");
        auto const driver = json_text(json_at(net, {"Driver"}));
        if (driver == "host")
            co_return std::string("it is the host's network");
        // Joining a network is creating a container on it: judged by its driver, as a network
        // create is (macvlan and ipvlan put containers on the host's own links).
        if (auto const* c = role.constraints.containers ? &*role.constraints.containers : nullptr;
            c != nullptr && !c->host_namespaces && driver != "bridge" && driver != "overlay" &&
            driver != "null")
            co_return "its driver " + driver +
                (driver == "macvlan" || driver == "ipvlan"
                     ? " puts containers on the host's own links"
                     : " is not one that keeps containers off the host's interfaces");
        if (resolved != nullptr)
            *resolved = json_text(json_at(net, {"Id"}));
        if (auto const mine = owned(inspect::owned_kind::network, net);
            role.constraints.ownership && !mine.owned && !mine.shared)
            co_return std::string("the network is not yours");
        co_return std::string();
    }
    case kind::host_path_within: {
        auto const resolved = resolve(need.subject);
        if (!resolved.error.empty())
            co_return "the host path cannot be resolved (" + resolved.error + ")";
        if (!role.constraints.containers)
            co_return std::string("no bind_sources to check against");
        for (auto const& root : role.constraints.containers->bind_sources) {
            auto const real_root = resolve(root);
            auto const& within = real_root.error.empty() ? real_root.path : root;
            if (config::path_within(resolved.path, within))
                co_return std::string();
        }
        co_return "the host path leads to " + resolved.path + " through a symbolic link";
    }
    case kind::container_confined: {
        auto [status, ctr] = co_await get_json(container_path(need.subject));
        if (status == 404)
            co_return std::string(); // the daemon refuses to exec in a missing container
        if (status != 200)
            co_return std::string("the container could not be inspected");
        if (resolved != nullptr)
            *resolved = json_text(json_at(ctr, {"Id"}));
        co_return co_await check_existing(std::string("the container"),
                                          inspect::judge_existing_container(ctr, role, who.user),
                                          role, depth);
    }
    case kind::volume_owned:
    case kind::volume_confined: {
        auto [status, vol] =
            co_await get_json("/volumes/" + http::encode_path_segment(need.subject));
        if (status == 404)
            co_return std::string(); // created now, plain (or with the options judged here)
        if (status != 200)
            co_return std::string("the volume could not be inspected");
        if (need.kind == kind::volume_confined)
            co_return co_await check_existing(std::string("the volume"),
                                              inspect::judge_existing_volume(vol, role, who.user),
                                              role, depth);
        if (!owned(inspect::owned_kind::volume, vol).owned)
            co_return std::string("the volume is not yours");
        co_return std::string();
    }
    case kind::secret_owned:
    case kind::config_owned: {
        bool const secret = need.kind == kind::secret_owned;
        auto const owned_as = secret ? inspect::owned_kind::secret : inspect::owned_kind::config;
        auto [status, object] = co_await get_json(inspect::inspect_path(owned_as, need.subject));
        if (status != 200 || !owned(owned_as, object).owned)
            co_return std::string(secret ? "the secret is not yours" : "the config is not yours");
        co_return std::string();
    }
    }
    co_return std::string("unknown requirement");
}

} // namespace dockgate::admission
