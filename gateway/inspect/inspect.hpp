#pragma once
// Body and parameter inspection: judges the requests that can reach the host (container create,
// update and exec, volume create, image pull and build, services, plugins) against one role's
// constraints, with the daemon's own parsing semantics, and produces the body to forward.
//
// Pure: no I/O, no exceptions but std::bad_alloc, bounded in time and memory by the body size
// and json_limits. Call it from the session's thread, once per candidate role (a role whose
// allow/deny already admits the operation); the first role that allows decides, and its
// forward_body is what the daemon gets.
//
// Flow for the session:
//   1. handling_for(operation) says whether to buffer the body (up to [limits] body_bytes;
//      larger is a 413, never a pass), to judge only the query and stream the body, or to skip.
//   2. parse_go_query(target.query) -> the query pairs (an error is a 400).
//   3. inspect_request(req, role) for each candidate role.
//   4. allow: forward forward_body with Content-Length = its size (no Transfer-Encoding) when
//      body_replaced is set, after resolving every requirement; deny: 403 with message;
//      invalid: 400 with message.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "config/config.hpp"
#include "gateway/inspect/go_query.hpp"
#include "gateway/inspect/json.hpp"

namespace dockgate::inspect {

enum class body_handling {
    none,       // not inspected here: forward as usual
    query_only, // judge the query (pass an empty body); the body (a tar stream) is streamed
    buffer_json // buffer the whole body and forward forward_body instead of it
};

/// What the session must do with the body of `operation` (an Engine API operationId).
body_handling handling_for(std::string_view operation) noexcept;

/// True when `role` judges the images a build's Dockerfile names: the build context (a tar)
/// is then read whole, within limits.build_context_bytes, and forwarded as received.
bool reads_build_context(std::string_view operation, config::role const& role) noexcept;

struct request {
    std::string_view operation;         // "ContainerCreate"
    std::span<query_param const> query; // parse_go_query() of the canonical target's query
    std::string_view body;              // the complete body (de-chunked); "" when none
    std::string_view content_type;      // the Content-Type header value, "" when absent
    std::string_view target;            // the path's {id}/{name}, e.g. the container of an exec
    std::string_view user;              // the caller, for messages and the owner label
    bool add_owner_label = false;       // set Labels["dockgate.owner"] = user on what is created
    bool may_push = false;              // the caller may push images (ImagePush is allowed)
    json_limits limits{};
};

/// Something the gateway cannot decide without asking the daemon. The request may be forwarded
/// only after every requirement was checked; a lookup that fails means deny.
enum class requirement_kind {
    // `subject` is a container (name, id or id prefix) that the request joins: a
    // "container:<x>" network/pid/ipc/cgroup mode, VolumesFrom, Links. Allow only if the caller
    // owns it (label dockgate.owner=<user>) and, for namespace sharing, the container itself
    // is neither privileged nor in the host's namespace of that kind.
    container_owned,
    // `subject` is a network name or id (NetworkMode, EndpointsConfig, service Networks, build
    // networkmode). Allow only if it does not resolve to the host network (driver "host"), and,
    // for an ownership role, the caller owns it or it is a predefined network.
    network_not_host,
    // `subject` is a named volume used by Binds or Mounts of an ownership role: allow only if
    // the caller owns it or it does not exist yet (then it is created unlabelled: see report).
    volume_owned,
    // `subject` is an image reference: run_as_non_root with no User given, so the image's
    // Config.User applies; judge it with judge_user() (empty there means root).
    image_user_non_root,
    // `subject` is the exec's container (request.target): an exec without User runs as the
    // container's Config.User; judge it with judge_user() (empty: the image's user).
    container_user_non_root,
    // `subject` may name a local image by ID prefix: allow only if the image resolved by this
    // string has a RepoTags/RepoDigests entry for which image_allowed() holds.
    image_registry,
    // `subject` is a host path (cleaned) that lies lexically inside the role's bind_sources:
    // allow only if it still does with every symbolic link on the host resolved
    // (resolve_host_path), so a link a container wrote into an allowed folder leads nowhere.
    host_path_within,
    // `subject` is a container the request execs in: allow only if judge_existing_container()
    // allows it for the role (and its requirements hold), or it does not exist.
    container_confined,
    // `subject` is a named volume a container mounts: allow only if it does not exist yet (it
    // is created plain) or judge_existing_volume() allows it (and its requirements hold).
    volume_confined,
    // `subject` is a swarm secret or config id a service references: allow only if the
    // caller owns it.
    secret_owned,
    config_owned,
};

/// Where the request names a requirement's object, so that it is forwarded by the full id the
/// look-up resolved: the daemon then cannot resolve the name to another object between the
/// check and its use (a container renamed, a network of the same name created).
struct pin {
    enum class place : unsigned char {
        body_value, // the string at `path` in the forwarded body becomes before + id + after
        body_key,   // the member named path.back() of the object at the rest of `path` is renamed
        query,      // the parameter path[0] becomes before + id + after
        target,     // the route's {id} segment becomes the id
    };
    place where = place::body_value;
    std::vector<std::string> path; // member names, "[i]" for array elements
    std::string before, after;
};

struct requirement {
    requirement_kind kind;
    std::string subject;
    std::string field; // "HostConfig.PidMode=container:db"
    std::string rule;  // "roles.developer.containers.host_namespaces"
    std::optional<pin> pinned;
};

struct verdict_detail {
    std::string role;    // "developer"
    std::string rule;    // "roles.developer.containers.privileged"; "body" for invalid input
    std::string field;   // "HostConfig.Privileged=true"
    std::string message; // what the docker CLI shows, see denial format in the issue
};

struct inspect_result {
    enum class verdict { allow, deny, invalid };
    verdict decision = verdict::invalid;
    verdict_detail detail;                    // deny and invalid
    std::vector<requirement> requirements;    // allow: to be resolved before forwarding
    bool body_replaced = false;               // forward forward_body instead of the original
    std::string forward_body;                 // canonical JSON of the judged (and mutated) body
    std::optional<std::string> forward_query; // forward this query string instead (build labels)

    bool allowed() const noexcept { return decision == verdict::allow; }
    int http_status() const noexcept {
        return decision == verdict::deny ? 403 : decision == verdict::invalid ? 400 : 200;
    }
};

/// What the caller was doing, for denial sentences: "create a container" for ContainerCreate;
/// "call this operation" for operations without a phrase.
std::string_view operation_action(std::string_view operation) noexcept;

/// Judges `req` for `role`. A role without constraints still gets the body parsed and
/// canonicalised (ambiguous bodies are refused for everyone).
inspect_result inspect_request(request const& req, config::role const& role);

/// An existing container (the daemon's inspect reply) judged as if `role` created it now: its
/// HostConfig fields that reach the host (privileges, capabilities, binds and mounts, namespace
/// modes, devices, security options, ...). For a request that joins it or execs in it.
inspect_result judge_existing_container(boost::json::value const& inspected,
                                        config::role const& role, std::string_view user);

/// An existing volume (its inspect reply: Driver, Options) judged for what mounting it reaches
/// on the host (a local bind of a host path, a host device).
inspect_result judge_existing_volume(boost::json::value const& inspected, config::role const& role,
                                     std::string_view user);

/// The image-registry test, for resolving image_registry requirements with the daemon's
/// RepoTags/RepoDigests: true when `reference` parses and lies in the role's registries (or the
/// role sets none).
bool image_allowed(std::string_view reference, config::role const& role);

} // namespace dockgate::inspect
