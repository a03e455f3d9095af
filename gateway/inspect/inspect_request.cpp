// The entry point: which operations are inspected, the checks on query and Content-Type that
// apply to all of them, and the dispatch of each operation's body to its rules.

#include <algorithm>
#include <array>
#include <cctype>
#include <span>
#include <unordered_map>

#include "gateway/inspect/dockerfile.hpp"
#include "gateway/inspect/field_tables.hpp"
#include "gateway/inspect/go_fold.hpp"
#include "gateway/inspect/image_reference.hpp"
#include "gateway/inspect/inspect.hpp"
#include "gateway/inspect/judge.hpp"
#include "gateway/inspect/option_rules.hpp"

namespace dockgate::inspect {

using detail::judge;

namespace {

struct operation_entry {
    std::string_view operation;
    body_handling handling;
    std::array<std::string_view, 4> guarded_params; // refused when given twice ("" = unused)
    // Every query parameter the daemon reads for the operation (v20.10 to the current API);
    // under constraints any other is refused.
    std::span<std::string_view const> known_params;
};

constexpr std::string_view create_params[] = {"name", "platform"};
// checkpoint and checkpoint-dir restore a process from a host folder: not known here.
constexpr std::string_view start_params[] = {"detachKeys"};
constexpr std::string_view service_update_params[] = {"version", "registryAuthFrom", "rollback"};
constexpr std::string_view plugin_pull_params[] = {"remote", "name"};
constexpr std::string_view plugin_upgrade_params[] = {"remote"};
constexpr std::string_view plugin_create_params[] = {"name"};
constexpr std::string_view image_create_params[] = {"fromImage", "fromSrc", "repo",    "tag",
                                                    "message",   "changes", "platform"};
constexpr std::string_view commit_params[] = {"container", "repo",  "tag",    "comment",
                                              "author",    "pause", "changes"};
constexpr std::string_view tag_params[] = {"repo", "tag"};
constexpr std::string_view load_params[] = {"quiet", "platform"};
// securityopt is refused by Linux daemons and not known here.
constexpr std::string_view build_params[] = {
    "dockerfile",  "t",         "extrahosts",  "remote",    "q",       "nocache",   "cachefrom",
    "pull",        "rm",        "forcerm",     "memory",    "memswap", "cpushares", "cpusetcpus",
    "cpusetmems",  "cpuperiod", "cpuquota",    "buildargs", "shmsize", "squash",    "labels",
    "networkmode", "platform",  "target",      "outputs",   "version", "session",   "buildid",
    "ulimits",     "isolation", "cgroupparent"};

operation_entry const operations[] = {
    {"ContainerCreate", body_handling::buffer_json, {}, create_params},
    {"ContainerUpdate", body_handling::buffer_json, {}, {}},
    {"ContainerExec", body_handling::buffer_json, {}, {}},
    {"ContainerStart", body_handling::buffer_json, {}, start_params},
    {"VolumeCreate", body_handling::buffer_json, {}, {}},
    {"NetworkCreate", body_handling::buffer_json, {}, {}},
    {"NetworkConnect", body_handling::buffer_json, {}, {}},
    {"ServiceCreate", body_handling::buffer_json, {}, {}},
    {"ServiceUpdate", body_handling::buffer_json, {}, service_update_params},
    {"SecretCreate", body_handling::buffer_json, {}, {}},
    {"ConfigCreate", body_handling::buffer_json, {}, {}},
    {"PluginPull", body_handling::buffer_json, {"remote", "name"}, plugin_pull_params},
    {"PluginUpgrade", body_handling::buffer_json, {"remote"}, plugin_upgrade_params},
    {"PluginSet", body_handling::buffer_json, {}, {}},
    {"PluginCreate", body_handling::query_only, {}, plugin_create_params},
    {"ImageCreate",
     body_handling::query_only,
     {"fromImage", "tag", "fromSrc", "repo"},
     image_create_params},
    {"ImageBuild",
     body_handling::query_only,
     {"networkmode", "remote", "cgroupparent", "labels"},
     build_params},
    {"ImageCommit",
     body_handling::buffer_json,
     {"container", "repo", "tag", "changes"},
     commit_params},
    {"ImageTag", body_handling::query_only, {"repo", "tag"}, tag_params},
    {"ImageLoad", body_handling::query_only, {}, load_params},
    {"Grpc", body_handling::query_only, {}, {}},
};

operation_entry const* find_operation(std::string_view operation) {
    for (auto const& e : operations) {
        if (e.operation == operation)
            return &e;
    }
    return nullptr;
}

// Fields of HostConfig (and its embedded Resources) in Engine API 1.41-1.56, plus the wrapper's
// "Cpuset". Daemons up to 24.x embed a HostConfig in the create body's top level and use it
// when the body has no "HostConfig" object, so a top-level "Privileged" would be applied.
constexpr std::string_view host_config_fields[] = {"Binds",
                                                   "ContainerIDFile",
                                                   "LogConfig",
                                                   "NetworkMode",
                                                   "PortBindings",
                                                   "RestartPolicy",
                                                   "AutoRemove",
                                                   "VolumeDriver",
                                                   "VolumesFrom",
                                                   "Mounts",
                                                   "ConsoleSize",
                                                   "Annotations",
                                                   "CapAdd",
                                                   "CapDrop",
                                                   "CgroupnsMode",
                                                   "Dns",
                                                   "DnsOptions",
                                                   "DnsSearch",
                                                   "ExtraHosts",
                                                   "GroupAdd",
                                                   "IpcMode",
                                                   "Cgroup",
                                                   "Links",
                                                   "OomScoreAdj",
                                                   "PidMode",
                                                   "Privileged",
                                                   "PublishAllPorts",
                                                   "ReadonlyRootfs",
                                                   "SecurityOpt",
                                                   "StorageOpt",
                                                   "Tmpfs",
                                                   "UTSMode",
                                                   "UsernsMode",
                                                   "ShmSize",
                                                   "Sysctls",
                                                   "Runtime",
                                                   "Isolation",
                                                   "MaskedPaths",
                                                   "ReadonlyPaths",
                                                   "CpuShares",
                                                   "Memory",
                                                   "CgroupParent",
                                                   "BlkioWeight",
                                                   "BlkioWeightDevice",
                                                   "BlkioDeviceReadBps",
                                                   "BlkioDeviceWriteBps",
                                                   "BlkioDeviceReadIOps",
                                                   "BlkioDeviceWriteIOps",
                                                   "CpuPeriod",
                                                   "CpuQuota",
                                                   "CpuRealtimePeriod",
                                                   "CpuRealtimeRuntime",
                                                   "CpusetCpus",
                                                   "CpusetMems",
                                                   "Devices",
                                                   "DeviceCgroupRules",
                                                   "DeviceRequests",
                                                   "KernelMemory",
                                                   "KernelMemoryTCP",
                                                   "MemoryReservation",
                                                   "MemorySwap",
                                                   "MemorySwappiness",
                                                   "NanoCpus",
                                                   "OomKillDisable",
                                                   "Init",
                                                   "PidsLimit",
                                                   "Ulimits",
                                                   "CpuCount",
                                                   "CpuPercent",
                                                   "IOMaximumIOps",
                                                   "IOMaximumBandwidth",
                                                   "Cpuset"};

void judge_container_create(judge& j, json_value& body) {
    // Folded once per key and looked up, so a body of many keys costs linear time.
    static std::unordered_map<std::string, std::string_view> const folded_fields = [] {
        std::unordered_map<std::string, std::string_view> out;
        for (auto name : host_config_fields)
            out.emplace(fold_key(name), name);
        return out;
    }();
    for (auto const& m : body.members) {
        if (auto it = folded_fields.find(fold_key(m.key)); it != folded_fields.end()) {
            j.invalid("HostConfig field \"" + std::string(it->second) +
                      "\" at the top level of the body (older daemons apply it; put it inside "
                      "HostConfig)");
            return;
        }
    }
    if (auto* hc = j.object(j.field(body, "HostConfig"), "HostConfig"))
        detail::judge_host_config(j, *hc, "HostConfig");
    auto const image = j.string(j.field(body, "Image"), "Config.Image").value_or("");
    detail::judge_image(j, image, "Config.Image");
    auto const user = j.string(j.field(body, "User"), "Config.User").value_or("");
    detail::judge_run_as(j, user, "Config.User", requirement_kind::image_user_non_root, image);
    if (auto* net = j.object(j.field(body, "NetworkingConfig"), "NetworkingConfig")) {
        if (auto* endpoints =
                j.object(j.field(*net, "EndpointsConfig"), "NetworkingConfig.EndpointsConfig"))
            detail::judge_endpoints(j, *endpoints, "NetworkingConfig.EndpointsConfig");
    }
    detail::judge_healthcheck(j, body, "Config.Healthcheck");
    detail::check_fields(j, body, fields::container_create());
    detail::apply_owner_label(j, body, "Labels");
    detail::apply_container_mutations(j, body);
}

pin target_pin() {
    pin p;
    p.where = pin::place::target;
    return p;
}

pin query_pin(std::string name, std::string before) {
    pin p;
    p.where = pin::place::query;
    p.path = {std::move(name)};
    p.before = std::move(before);
    return p;
}

void judge_exec(judge& j, json_value& body) {
    auto const* c = j.containers();
    if (c != nullptr && j.boolean(j.field(body, "Privileged"), "Privileged").value_or(false) &&
        !c->privileged)
        j.deny("containers.privileged", "Privileged=true");
    auto const user = j.string(j.field(body, "User"), "User").value_or("");
    detail::judge_run_as(j, user, "User", requirement_kind::container_user_non_root,
                         j.req().target);
    // An exec runs with the container's privileges, mounts and namespaces.
    if (c != nullptr && !j.done())
        j.require(requirement_kind::container_confined, std::string(j.req().target),
                  detail::field_text("container", j.req().target), "containers", target_pin());
    detail::check_fields(j, body, fields::exec_create());
}

void judge_volume_create(judge& j, json_value& body) {
    auto const driver = j.string(j.field(body, "Driver"), "Driver").value_or("");
    detail::judge_volume_driver(j, driver, detail::field_text("Driver", driver));
    detail::judge_driver_options(j, driver, j.string_map(j.field(body, "DriverOpts"), "DriverOpts"),
                                 "DriverOpts");
    detail::check_fields(j, body, fields::volume_create());
    detail::apply_owner_label(j, body, "Labels");
}

// Provenance: under images.registries a trusted name must mean an image that came from that
// registry, so a local image (import, load, commit, tag, build -t) may not take one unless
// images.local_names allows it.
void judge_local_name(judge& j, std::string_view name, std::string const& field) {
    auto const& images = j.rules().images;
    if (!images || !images->registries || images->local_names || name.empty() || j.done())
        return;
    auto parsed = parse_image_reference(name);
    if (auto const* ref = std::get_if<image_reference>(&parsed)) {
        if (reference_in_scopes(*ref, *images->registries))
            j.deny("images.local_names", detail::field_text(field, name),
                   "a local image may not take the name of a trusted registry's image (" +
                       ref->str() + ")");
        return;
    }
    if (auto const* why = std::get_if<std::string>(&parsed))
        j.deny("images.local_names", detail::field_text(field, name), *why);
}

// ImageCommit: the new image's name, and its labels (Labels in the body, LABEL in changes).
void judge_commit(judge& j, json_value* body) {
    auto const query = j.req().query;
    judge_local_name(j, query_get(query, "repo").value_or(""), "repo");
    for (auto const& p : query) {
        if (p.key != "changes" || j.done())
            continue;
        // A LABEL instruction naming the owner label would forge it.
        if (fold_key(p.value).find("DOCKGATE.OWNER") != std::string::npos)
            j.deny("ownership", detail::field_text("changes", p.value),
                   "the dockgate.owner label is set by the gateway");
    }
    if (body != nullptr && !j.done()) {
        detail::check_fields(j, *body, fields::container_create());
        detail::apply_owner_label(j, *body, "Labels");
    }
}

void judge_image_create(judge& j) {
    auto const& images = j.rules().images;
    auto const query = j.req().query;
    auto const from_image = std::string(query_get(query, "fromImage").value_or(""));
    auto const tag = std::string(query_get(query, "tag").value_or(""));
    auto const from_src = query_get(query, "fromSrc").value_or("");
    if (!images)
        return;
    if (!from_image.empty()) {
        // The daemon trims one trailing ':' ("pull -a"), then lets `tag` be a tag or a digest.
        std::string image = from_image;
        if (image.back() == ':')
            image.pop_back();
        auto parsed = parse_image_reference(image);
        auto const* ref = std::get_if<image_reference>(&parsed);
        std::string const field =
            detail::field_text("fromImage", from_image + (tag.empty() ? "" : "&tag=" + tag));
        if (ref == nullptr) {
            auto const* why = std::get_if<std::string>(&parsed);
            j.deny("images.registries", field, why ? *why : "an image ID is not a name to pull");
            return;
        }
        std::string full = image;
        if (!tag.empty()) {
            std::string const base = ref->domain + "/" + ref->path;
            full = is_digest(tag)
                       ? base + "@" + tag
                       : base + ":" + tag + (ref->digest.empty() ? "" : "@" + ref->digest);
        }
        detail::judge_image(j, full, "fromImage");
        return;
    }
    if (!from_src.empty() && from_src != "-" && images->registries)
        j.deny("images.registries", detail::field_text("fromSrc", from_src),
               "importing from a URL bypasses the allowed registries");
    if (!from_src.empty())
        judge_local_name(j, query_get(query, "repo").value_or(""), "repo");
}

// A build's `outputs`: BuildKit exporters. One that pushes (an image exporter with push, the
// registry exporter) reaches a registry, which needs what ImagePush needs; the others write
// to the daemon's image store or back to the client.
void judge_build_outputs(judge& j) {
    auto const raw = query_get(j.req().query, "outputs");
    if (!raw || raw->empty() || j.rules().empty())
        return;
    auto parsed = parse_json(*raw, j.req().limits);
    auto* root = std::get_if<json_value>(&parsed);
    if (root == nullptr || !root->is_array()) {
        j.invalid("the outputs parameter is not a JSON array");
        return;
    }
    auto const section = detail::governing_section(j.rules(), j.req().operation);
    for (auto& out : root->items) {
        if (!out.is_object()) {
            j.invalid("an entry of the outputs parameter is not an object");
            return;
        }
        auto type = j.string(j.field(out, "Type"), "outputs.Type").value_or("");
        std::transform(type.begin(), type.end(), type.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        bool push = type == "registry";
        for (auto const& [k, v] : j.string_map(j.field(out, "Attrs"), "outputs.Attrs")) {
            if (k == "push" && go_form_bool(v))
                push = true;
            if (k.starts_with("registry.") || k == "push-by-digest")
                push = push || type == "image";
        }
        if (j.done())
            return;
        if (push && !j.req().may_push)
            j.deny(section, detail::field_text("outputs", *raw),
                   "the output pushes to a registry, which the caller's roles do not allow "
                   "(ImagePush)");
        else if (!push && type != "moby" && type != "image" && type != "local" && type != "tar" &&
                 type != "cacheonly" && type != "docker" && type != "oci")
            j.deny(section, detail::field_text("outputs", *raw),
                   "not a build output the gateway knows");
        if (j.done())
            return;
    }
}

void judge_image_build(judge& j) {
    auto const& build = j.rules().build;
    auto const* c = j.containers();
    auto const query = j.req().query;
    auto const mode = query_get(query, "networkmode").value_or("");
    auto const remote = query_get(query, "remote").value_or("");
    auto const parent = query_get(query, "cgroupparent").value_or("");
    bool const confined = build && !build->network_host;
    std::string const mode_field = detail::field_text("networkmode", mode);
    if (mode == "host") {
        if (confined)
            j.deny("build.network_host", mode_field);
    } else if (mode.substr(0, 10) == "container:") {
        if (confined || j.ownership())
            j.require(requirement_kind::container_owned, std::string(mode.substr(10)), mode_field,
                      confined ? "build.network_host" : "ownership",
                      query_pin("networkmode", "container:"));
    } else if (!mode.empty() && mode != "default" && mode != "bridge" && mode != "none") {
        if (confined || j.ownership())
            j.require(requirement_kind::network_not_host, std::string(mode), mode_field,
                      confined ? "build.network_host" : "ownership", query_pin("networkmode", ""));
    }
    // "client-session" is BuildKit's marker for a context sent over the session, not a URL.
    if (!remote.empty() && remote != "client-session" && build && !build->remote_context)
        j.deny("build.remote_context", detail::field_text("remote", remote),
               "the daemon would fetch the build context itself");
    if (!parent.empty() && c != nullptr && !c->cgroup_parent)
        j.deny("containers.cgroup_parent", detail::field_text("cgroupparent", parent));
    // The classic builder runs each step in a container with these rlimits.
    if (auto const raw = query_get(query, "ulimits"); raw && !raw->empty() && c != nullptr) {
        auto parsed = parse_json(*raw, j.req().limits);
        auto* root = std::get_if<json_value>(&parsed);
        if (root == nullptr || !root->is_array()) {
            j.invalid("the ulimits parameter is not a JSON array");
            return;
        }
        for (auto& u : root->items) {
            auto const name = u.is_object() ? j.string(j.field(u, "Name"), "ulimits.Name")
                                            : std::optional<std::string>();
            if (j.done())
                return;
            if (!name) {
                j.invalid("an entry of the ulimits parameter has no Name");
                return;
            }
            if (auto refused = judge_ulimit(*name)) {
                j.deny(refused->rule, detail::field_text("ulimits", *raw), refused->why);
                return;
            }
        }
    }
    for (auto const& p : query) {
        if (p.key == "t")
            judge_local_name(j, p.value, "t");
    }
}

// Networks whose driver puts containers on the host's own links (macvlan, ipvlan on a host
// interface, a bridge named after an existing host bridge) are host networking by another name;
// a driver or IPAM driver that is not built in is a plugin the daemon looks up by name.
void judge_network_create(judge& j, json_value& body) {
    auto const* c = j.containers();
    auto const driver = j.string(j.field(body, "Driver"), "Driver").value_or("");
    auto const options = j.string_map(j.field(body, "Options"), "Options");
    auto* ipam = j.object(j.field(body, "IPAM"), "IPAM");
    auto const ipam_driver =
        ipam != nullptr ? j.string(j.field(*ipam, "Driver"), "IPAM.Driver").value_or("") : "";
    auto const ipam_options = ipam != nullptr
                                  ? j.string_map(j.field(*ipam, "Options"), "IPAM.Options")
                                  : std::vector<std::pair<std::string, std::string>>{};
    auto* from = j.object(j.field(body, "ConfigFrom"), "ConfigFrom");
    auto const config_from =
        from != nullptr ? j.string(j.field(*from, "Network"), "ConfigFrom.Network").value_or("")
                        : "";
    if (!j.done() && !j.rules().empty() && !driver.empty() && !config::valid_plugin_name(driver))
        j.deny(c != nullptr ? "containers.host_namespaces" : "ownership",
               detail::field_text("Driver", driver),
               "not a plugin name (the daemon would look the driver up as a file path)");
    if (c != nullptr && !c->host_namespaces && !j.done()) {
        if (!driver.empty() && driver != "bridge" && driver != "overlay")
            j.deny("containers.host_namespaces", detail::field_text("Driver", driver),
                   "only bridge and overlay networks keep containers off the host's interfaces");
        for (auto const& [key, value] : options) {
            if (j.done())
                break;
            if (key == "com.docker.network.bridge.name")
                j.deny("containers.host_namespaces", detail::field_text("Options." + key, value),
                       "naming the bridge can attach containers to an existing host bridge");
            else if (auto refused = judge_network_option(key))
                j.deny(refused->rule, detail::field_text("Options." + key, value), refused->why);
        }
        if (!ipam_driver.empty() && ipam_driver != "default" && !j.done())
            j.deny("containers.host_namespaces", detail::field_text("IPAM.Driver", ipam_driver),
                   "an IPAM driver other than the default is a plugin the gateway cannot judge");
        if (!ipam_options.empty() && !j.done())
            j.deny("containers.host_namespaces",
                   detail::field_text("IPAM.Options", ipam_options.front().first),
                   "IPAM options are read by the IPAM driver, which the gateway cannot judge");
        if (!config_from.empty() && !j.done())
            j.deny("containers.host_namespaces",
                   detail::field_text("ConfigFrom.Network", config_from),
                   "the network would take driver options from another network, unjudged");
    }
    detail::check_fields(j, body, fields::network_create());
    detail::apply_owner_label(j, body, "Labels");
}

// NetworkConnect: the network is the path's; an EndpointConfig.NetworkID would replace it.
void judge_network_connect(judge& j, json_value& body) {
    auto* endpoint = j.object(j.field(body, "EndpointConfig"), "EndpointConfig");
    if (endpoint != nullptr && !j.rules().empty()) {
        auto wrapper = json_value::make_object();
        wrapper.members.push_back({std::string(j.req().target), std::move(*endpoint)});
        detail::judge_endpoints(j, wrapper, "EndpointConfig");
        *endpoint = std::move(wrapper.members.front().value);
    }
    detail::check_fields(j, body, fields::network_connect());
}

// Under images.registries, the images a build pulls: the Dockerfile's FROM, COPY --from and
// RUN --mount from= images and its `# syntax=` frontend (or BUILDKIT_SYNTAX), read from the
// context the client sends. A context the gateway cannot read (fetched by the daemon, sent
// over a BuildKit session, compressed) leaves them unjudged, so the build is refused.
void judge_build_context(judge& j) {
    auto const& images = j.rules().images;
    if (!images || !images->registries || j.done())
        return;
    auto const query = j.req().query;
    if (auto const remote = query_get(query, "remote").value_or(""); !remote.empty()) {
        j.deny("images.registries", detail::field_text("remote", remote),
               "the context is not sent through the gateway, so the images its Dockerfile "
               "names cannot be judged (send the context with the request, e.g. "
               "DOCKER_BUILDKIT=0 docker build)");
        return;
    }
    std::string const name(query_get(query, "dockerfile").value_or(""));
    std::string error;
    auto dockerfile = file_from_tar(j.req().body, name.empty() ? "Dockerfile" : name, error);
    if (!dockerfile && name.empty()) {
        std::string lower_error; // the daemon's fallback
        dockerfile = file_from_tar(j.req().body, "dockerfile", lower_error);
    }
    if (!dockerfile) {
        j.deny("images.registries",
               detail::field_text("dockerfile", name.empty() ? "Dockerfile" : name), error);
        return;
    }
    std::vector<std::pair<std::string, std::string>> args;
    if (auto const raw = query_get(query, "buildargs"); raw && !raw->empty()) {
        auto parsed = parse_json(*raw, j.req().limits);
        auto* root = std::get_if<json_value>(&parsed);
        if (root == nullptr || !root->is_object()) {
            j.invalid("the buildargs parameter is not a JSON object");
            return;
        }
        for (auto const& m : root->members)
            args.emplace_back(m.key, m.value.is_string() ? m.value.text : std::string());
    }
    auto found = images_of_dockerfile(*dockerfile, args);
    if (!found.error.empty()) {
        j.deny("images.registries", "Dockerfile", found.error);
        return;
    }
    for (auto const& [k, v] : args) {
        if (k == "BUILDKIT_SYNTAX")
            detail::judge_image(j, v, "buildargs.BUILDKIT_SYNTAX");
    }
    if (!found.syntax.empty())
        detail::judge_image(j, found.syntax, "Dockerfile # syntax");
    for (auto const& image : found.images)
        detail::judge_image(j, image, "Dockerfile FROM");
}

// A build's `labels` (a JSON map[string]string in the query) get the owner label like a
// create body's Labels; the query forwarded carries the judged map.
void confine_build_labels(judge& j, inspect_result& out) {
    auto const raw = query_get(j.req().query, "labels");
    if (!raw && !j.req().add_owner_label)
        return;
    auto wrapper = json_value::make_object();
    if (raw && !raw->empty()) {
        auto parsed = parse_json(*raw, j.req().limits);
        if (auto const* err = std::get_if<json_error>(&parsed)) {
            j.invalid("the labels parameter at byte " + std::to_string(err->offset) + ": " +
                      err->reason);
            return;
        }
        wrapper.members.push_back({"labels", std::move(std::get<json_value>(parsed))});
        (void)j.string_map(j.field(wrapper, "labels"), "labels");
        if (j.done())
            return;
    }
    detail::apply_owner_label(j, wrapper, "labels");
    auto* labels = find_key(wrapper, "labels");
    if (j.done() || labels == nullptr)
        return;
    std::vector<query_param> query(j.req().query.begin(), j.req().query.end());
    std::erase_if(query, [](auto const& p) { return p.key == "labels"; });
    query.push_back({"labels", write_json(*labels)});
    out.forward_query = encode_go_query(query);
}

// The JSON body of a buffer_json operation, judged in place.
void judge_body(judge& j, json_value& root) {
    auto const op = j.req().operation;
    bool const wants_array = op == "PluginPull" || op == "PluginUpgrade" || op == "PluginSet";
    if (root.is_null()) {
        if (op == "ImageCommit")
            judge_commit(j, nullptr);
        return; // the zero value: nothing the daemon could act on beyond its defaults
    }
    if (wants_array ? !root.is_array() : !root.is_object()) {
        j.invalid(std::string("the body must be a JSON ") + (wants_array ? "array" : "object"));
        return;
    }
    if (op == "ContainerCreate")
        judge_container_create(j, root);
    else if (op == "ContainerUpdate") {
        detail::judge_resources(j, root, "");
        detail::check_fields(j, root, fields::container_update());
    } else if (op == "ContainerExec")
        judge_exec(j, root);
    else if (op == "VolumeCreate")
        judge_volume_create(j, root);
    else if (op == "NetworkCreate")
        judge_network_create(j, root);
    else if (op == "NetworkConnect")
        judge_network_connect(j, root);
    else if (op == "SecretCreate" || op == "ConfigCreate") {
        detail::check_fields(j, root, fields::secret_create());
        detail::apply_owner_label(j, root, "Labels");
    } else if (op == "ServiceCreate" || op == "ServiceUpdate") {
        detail::judge_service_spec(j, root);
        detail::check_fields(j, root, fields::service_spec());
        detail::apply_service_mutations(j, root);
    } else if (op == "ImageCommit")
        judge_commit(j, &root);
    else if (op == "PluginSet")
        detail::judge_plugin_settings(j, root);
    else {
        detail::judge_plugin_privileges(j, root);
        for (auto const& item : root.items)
            detail::check_fields(j, item, fields::plugin_privilege());
    }
}

bool only_space(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

} // namespace

bool reads_build_context(std::string_view operation, config::role const& role) noexcept {
    auto const& images = role.constraints.images;
    return operation == "ImageBuild" && images && images->registries;
}

body_handling handling_for(std::string_view operation) noexcept {
    auto const* e = find_operation(operation);
    return e == nullptr ? body_handling::none : e->handling;
}

inspect_result inspect_request(request const& req, config::role const& role) {
    inspect_result out;
    judge j(req, role, out);
    auto const* entry = find_operation(req.operation);
    if (entry == nullptr)
        return out;
    if (is_form_content_type(req.content_type) && !req.body.empty()) {
        j.invalid("a form Content-Type (the daemon would read parameters from the body); send "
                  "application/json");
        return out;
    }
    for (auto key : entry->guarded_params) {
        if (!key.empty() && query_count(req.query, key) > 1) {
            j.invalid("query parameter \"" + std::string(key) + "\" given more than once");
            return out;
        }
    }
    if (!role.constraints.empty()) {
        for (auto const& param : req.query) {
            auto const& known = entry->known_params;
            if (std::find(known.begin(), known.end(), param.key) == known.end()) {
                j.deny(detail::governing_section(role.constraints, req.operation),
                       detail::field_text("query " + detail::printable(param.key), param.value),
                       "not a parameter the gateway judges");
                return out;
            }
            // Every platform a governed operation names is judged alike: one the daemon reads.
            if (param.key == "platform") {
                if (auto why = platform_error(param.value, req.operation == "ImageLoad")) {
                    j.invalid(detail::field_text("query platform", param.value) + ": " + *why);
                    return out;
                }
            }
        }
    }
    if (req.operation == "PluginPull" || req.operation == "PluginUpgrade")
        detail::judge_image(j, query_get(req.query, "remote").value_or(""), "remote");
    if (j.done()) {
        // denied by the query alone
    } else if (entry->handling == body_handling::query_only) {
        if (req.operation == "ImageCreate")
            judge_image_create(j);
        else if (req.operation == "ImageBuild") {
            judge_image_build(j);
            judge_build_outputs(j);
            judge_build_context(j);
            if (!j.done())
                confine_build_labels(j, out);
        } else if (req.operation == "Grpc") {
            // BuildKit's API: any frontend, any image, the network.host entitlement.
            auto const& c = role.constraints;
            std::string_view const rule = c.build        ? "build"
                                          : c.images     ? "images.registries"
                                          : c.containers ? "containers.host_namespaces"
                                                         : "";
            if (!rule.empty())
                j.deny(rule, "Grpc=<BuildKit request>",
                       "BuildKit's own API carries build options the gateway cannot read (use "
                       "docker build, which goes through ImageBuild)");
        } else if (req.operation == "ImageTag") {
            judge_local_name(j, query_get(req.query, "repo").value_or(""), "repo");
        } else if (req.operation == "ImageLoad") {
            auto const& images = role.constraints.images;
            if (images && images->registries && !images->local_names)
                j.deny("images.local_names", "ImageLoad=<image archive>",
                       "an archive names its own images, which may take a trusted registry's "
                       "name");
        } else if (j.containers() != nullptr && !j.containers()->privileged)
            j.deny("containers.privileged", "PluginCreate=<plugin archive>",
                   "a plugin archive declares its own privileges, which the gateway cannot read");
    } else if (req.operation == "ContainerStart") {
        // Below API 1.24 a start body is a HostConfig applied without the create checks; from
        // 1.24 the daemon refuses bodies over 7 bytes. Nothing is forwarded either way.
        if (req.body.size() > 7 && !only_space(req.body))
            j.invalid("a start request takes no body (configure the container when creating it)");
        // The daemon resolves the container's joins (container:<name> modes, VolumesFrom,
        // networks by name) again now: what it joins must still be within the role.
        if (!j.done() && (j.containers() != nullptr || j.ownership()))
            j.require(requirement_kind::container_confined, std::string(req.target),
                      detail::field_text("container", req.target),
                      j.containers() != nullptr ? "containers" : "ownership", target_pin());
        out.body_replaced = true;
    } else if (only_space(req.body)) {
        if (req.operation == "ImageCommit")
            judge_commit(j, nullptr);
        out.body_replaced = true; // forwarded empty, as the daemon would read it
    } else {
        auto parsed = parse_json(req.body, req.limits);
        if (auto const* err = std::get_if<json_error>(&parsed)) {
            j.invalid("the body at byte " + std::to_string(err->offset) + ": " + err->reason);
            return out;
        }
        auto& root = std::get<json_value>(parsed);
        judge_body(j, root);
        if (!j.done()) {
            out.body_replaced = true;
            out.forward_body = write_json(root);
        }
    }
    if (j.done()) {
        out.requirements.clear();
        out.body_replaced = false;
        out.forward_body.clear();
        out.forward_query.reset();
    }
    return out;
}

bool image_allowed(std::string_view reference, config::role const& role) {
    auto const& images = role.constraints.images;
    if (!images || !images->registries)
        return true;
    auto parsed = parse_image_reference(reference);
    auto const* ref = std::get_if<image_reference>(&parsed);
    return ref != nullptr && reference_in_scopes(*ref, *images->registries);
}

} // namespace dockgate::inspect
