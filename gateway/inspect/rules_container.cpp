// The container rules ([roles.NAME.containers], images, volumes) applied to HostConfig and the
// parts of a container spec the daemon acts on at the host's level. Each HostConfig field of
// Engine API 1.41-1.56 that can reach the host is judged here; see inspect.hpp for the
// requirements returned instead of decisions.

#include <algorithm>

#include "config/constraints.hpp"
#include "gateway/inspect/daemon_rules.hpp"
#include "gateway/inspect/image_reference.hpp"
#include "gateway/inspect/judge.hpp"

namespace dockgate::inspect::detail {

namespace {

std::string indexed(std::string const& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

std::string join_options(std::vector<std::pair<std::string, std::string>> const& options) {
    std::string out;
    for (auto const& [k, v] : options)
        out += (out.empty() ? "" : ",") + k + "=" + v;
    return out;
}

bool is_local_driver(std::string_view driver) {
    // Plugin names are case-sensitive, so "Local" is not the local driver; judging it as local
    // anyway only adds checks.
    std::string lower(driver);
    for (auto& c : lower)
        c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return lower.empty() || lower == "local";
}

bool has_mount_option(std::string_view o, std::string_view wanted) {
    while (!o.empty()) {
        auto const comma = o.find(',');
        if (o.substr(0, comma) == wanted)
            return true;
        o = comma == std::string_view::npos ? std::string_view{} : o.substr(comma + 1);
    }
    return false;
}

void judge_mode(judge& j, namespace_field kind, std::string_view value, std::string const& path) {
    auto const* c = j.containers();
    if (value.empty())
        return;
    auto const m = classify_mode(kind, value);
    std::string const field = field_text(path, value);
    bool const confined = c != nullptr && !c->host_namespaces;
    switch (m.verdict) {
    case mode_class::isolated:
        return;
    case mode_class::host:
        if (confined)
            j.deny("containers.host_namespaces", field);
        return;
    case mode_class::invalid:
        if (confined)
            j.deny("containers.host_namespaces", field, "not a mode the gateway can judge");
        return;
    case mode_class::container:
        if (confined || j.ownership())
            j.require(requirement_kind::container_owned, m.subject, field,
                      confined ? "containers.host_namespaces" : "ownership");
        return;
    case mode_class::network:
        judge_network_name(j, m.subject, field, "containers.host_namespaces");
        return;
    }
}

void judge_binds(judge& j, json_value& hc, std::string const& path) {
    auto const binds = j.strings(j.field(hc, "Binds"), path + ".Binds");
    for (std::size_t i = 0; i < binds.size() && !j.done(); ++i) {
        auto const spec = parse_bind(binds[i]);
        if (!spec) {
            j.invalid(field_text(indexed(path + ".Binds", i), binds[i]) +
                      " is not a bind spec the daemon accepts");
            return;
        }
        if (spec->host_path) {
            judge_bind_source(j, spec->source, field_text(path + ".Binds", binds[i]));
            continue;
        }
        if (!spec->source.empty() && j.ownership())
            j.require(requirement_kind::volume_owned, spec->source,
                      field_text(path + ".Binds", binds[i]), "ownership");
        if (!spec->source.empty() && j.containers() != nullptr)
            j.require(requirement_kind::volume_confined, spec->source,
                      field_text(path + ".Binds", binds[i]), "containers.bind_sources");
    }
}

void judge_security(judge& j, json_value& hc, std::string const& path) {
    auto const* c = j.containers();
    auto const opts = j.strings(j.field(hc, "SecurityOpt"), path + ".SecurityOpt");
    for (auto const& opt : opts) {
        if (j.done())
            return;
        if (auto why = security_opt_loosening(parse_security_opt(opt));
            !why.empty() && !c->unconfined)
            j.deny("containers.unconfined", field_text(path + ".SecurityOpt", opt), why);
    }
    for (auto const* name : {"MaskedPaths", "ReadonlyPaths"}) {
        // null keeps the daemon's defaults; any list (even the defaults) replaces them.
        if (auto* v = j.array(j.field(hc, name), path + "." + name); v != nullptr && !c->unconfined)
            j.deny("containers.unconfined", field_text(path + "." + name, write_json(*v)),
                   "overriding masked or read-only paths unmasks /proc and /sys");
    }
    auto const annotations = j.string_map(j.field(hc, "Annotations"), path + ".Annotations");
    if (!annotations.empty() && !c->unconfined)
        j.deny("containers.unconfined",
               field_text(path + ".Annotations", join_options(annotations)),
               "annotations are read by the OCI runtime");
}

} // namespace

void judge_bind_source(judge& j, std::string_view source, std::string const& field) {
    auto const* c = j.containers();
    if (c == nullptr)
        return;
    std::string const clean = config::clean_path(source);
    bool const allowed =
        !clean.empty() && clean.front() == '/' &&
        std::any_of(c->bind_sources.begin(), c->bind_sources.end(),
                    [&](std::string const& root) { return config::path_within(clean, root); });
    if (!allowed)
        j.deny("containers.bind_sources", field,
               clean != source ? "the host path is " + clean : "");
    else
        j.require(requirement_kind::host_path_within, clean, field, "containers.bind_sources");
}

void judge_network_name(judge& j, std::string_view network, std::string const& field,
                        std::string_view rule) {
    auto const* c = j.containers();
    if (network == "host") {
        if (c != nullptr && !c->host_namespaces)
            j.deny(rule, field);
        return;
    }
    if (network.empty() || network == "default" || network == "bridge" || network == "none")
        return;
    if ((c != nullptr && !c->host_namespaces) || j.ownership())
        j.require(requirement_kind::network_not_host, std::string(network), field, rule);
}

void judge_capabilities(judge& j, std::vector<std::string> const& caps, std::string const& path) {
    auto const* c = j.containers();
    if (c == nullptr)
        return;
    for (auto const& cap : caps) {
        if (j.done())
            return;
        auto const normal = normalize_capability(cap);
        if (!normal) {
            j.deny("containers.cap_add", field_text(path, cap),
                   "not a capability the gateway knows");
        } else if (*normal == "ALL") {
            j.deny("containers.cap_add", field_text(path, cap), "ALL grants every capability");
        } else if (std::find(c->cap_add.begin(), c->cap_add.end(), *normal) == c->cap_add.end()) {
            j.deny("containers.cap_add", field_text(path, cap));
        }
    }
}

void judge_run_as(judge& j, std::string_view user, std::string const& field,
                  requirement_kind if_empty, std::string_view subject) {
    auto const* c = j.containers();
    if (c == nullptr || !c->run_as_non_root)
        return;
    auto const verdict = judge_user(user);
    if (verdict.verdict == user_class::empty)
        j.require(if_empty, std::string(subject), field_text(field, ""),
                  "containers.run_as_non_root");
    else if (verdict.verdict != user_class::non_root)
        j.deny("containers.run_as_non_root", field_text(field, user), verdict.why);
}

void judge_groups(judge& j, std::vector<std::string> const& groups, std::string const& path) {
    auto const* c = j.containers();
    if (c == nullptr || !c->run_as_non_root)
        return;
    for (auto const& g : groups) {
        auto const verdict = judge_group(g);
        if (verdict.verdict != user_class::non_root) {
            j.deny("containers.run_as_non_root", field_text(path, g), verdict.why);
            return;
        }
    }
}

void judge_image(judge& j, std::string_view reference, std::string const& field) {
    auto const& images = j.rules().images;
    if (!images || reference.empty())
        return;
    auto parsed = parse_image_reference(reference);
    std::string const text = field_text(field, reference);
    if (auto const* why = std::get_if<std::string>(&parsed)) {
        j.deny(images->registries ? "images.registries" : "images.require_digest", text, *why);
        return;
    }
    if (std::holds_alternative<image_id>(parsed)) {
        if (images->registries) // content-addressed, so pinned; but from which registry?
            j.require(requirement_kind::image_registry, std::string(reference), text,
                      "images.registries");
        return;
    }
    auto const& ref = std::get<image_reference>(parsed);
    if (images->registries && !reference_in_scopes(ref, *images->registries)) {
        j.deny("images.registries", text, ref.str() + " is not from an allowed registry");
        return;
    }
    if (images->require_digest && ref.digest.empty()) {
        j.deny("images.require_digest", text, "name the image by digest (@sha256:...)");
        return;
    }
    if (ref.may_be_image_id && images->registries)
        j.require(requirement_kind::image_registry, std::string(reference), text,
                  "images.registries");
}

void judge_driver_options(judge& j, std::string_view driver,
                          std::vector<std::pair<std::string, std::string>> const& options,
                          std::string const& path) {
    if (options.empty())
        return;
    std::string const field = field_text(path, join_options(options));
    if (auto const& v = j.rules().volumes; v && !v->driver_opts) {
        j.deny("volumes.driver_opts", field);
        return;
    }
    if (j.containers() == nullptr || !is_local_driver(driver))
        return;
    // The local driver runs mount(2) on the host: "type=none,o=bind,device=/" binds the host's
    // root, a block-device type mounts a host disk. Only binds of allowed sources and network
    // or memory file systems pass.
    std::string type, device, o;
    for (auto const& [k, v] : options) {
        if (k == "type")
            type = v;
        else if (k == "device")
            device = v;
        else if (k == "o")
            o = v;
    }
    static constexpr std::string_view remote_types[] = {"nfs", "nfs4", "cifs", "smb3", "tmpfs"};
    bool const remote =
        std::find(std::begin(remote_types), std::end(remote_types), type) != std::end(remote_types);
    if (!remote && !type.empty() && type != "none") {
        j.deny("containers.bind_sources", field,
               "a local volume of type " + type + " mounts a host device");
        return;
    }
    bool const bind = !remote || has_mount_option(o, "bind") || has_mount_option(o, "rbind");
    if (bind && !device.empty()) {
        if (device.front() != '/')
            j.deny("containers.bind_sources", field, "a bind device must be an absolute host path");
        else
            judge_bind_source(j, device, field);
    }
}

void judge_mount(judge& j, json_value& mount, std::string const& path) {
    if (!mount.is_object()) {
        j.invalid(path + " must be an object");
        return;
    }
    auto const type = j.string(j.field(mount, "Type"), path + ".Type").value_or("");
    auto const source = j.string(j.field(mount, "Source"), path + ".Source").value_or("");
    if (j.done())
        return;
    std::string const source_field = field_text(path + ".Source", source);
    if (type == "bind" || type == "npipe") {
        judge_bind_source(j, source, source_field);
    } else if (type == "volume") {
        auto* options = j.object(j.field(mount, "VolumeOptions"), path + ".VolumeOptions");
        auto* driver = options ? j.object(j.field(*options, "DriverConfig"),
                                          path + ".VolumeOptions.DriverConfig")
                               : nullptr;
        if (driver != nullptr) {
            std::string const p = path + ".VolumeOptions.DriverConfig";
            auto const name = j.string(j.field(*driver, "Name"), p + ".Name").value_or("");
            judge_driver_options(j, name, j.string_map(j.field(*driver, "Options"), p + ".Options"),
                                 p + ".Options");
        }
        if (!source.empty() && j.ownership())
            j.require(requirement_kind::volume_owned, source, source_field, "ownership");
        if (!source.empty() && j.containers() != nullptr)
            j.require(requirement_kind::volume_confined, source, source_field,
                      "containers.bind_sources");
    } else if (type == "image") {
        judge_image(j, source, source_field);
    } else if (type != "tmpfs" && type != "cluster" && j.containers() != nullptr) {
        j.deny("containers.bind_sources", field_text(path + ".Type", type),
               "not a mount type the gateway knows");
    }
}

void judge_resources(judge& j, json_value& obj, std::string const& path) {
    auto const* c = j.containers();
    if (c == nullptr)
        return;
    auto const parent = j.string(j.field(obj, "CgroupParent"), path + "CgroupParent").value_or("");
    if (!parent.empty() && !c->cgroup_parent)
        j.deny("containers.cgroup_parent", field_text(path + "CgroupParent", parent));
    for (auto const* name : {"Devices", "DeviceRequests", "DeviceCgroupRules"}) {
        auto* v = j.array(j.field(obj, name), path + name);
        if (v != nullptr && !v->items.empty() && !c->devices)
            j.deny("containers.devices", field_text(path + name, write_json(*v)));
    }
}

void judge_host_config(judge& j, json_value& hc, std::string const& path) {
    // Runs for every role: besides the container rules, mounts carry volume driver options and
    // image references, and ownership roles need the containers and volumes named here.
    auto const* c = j.containers();
    if (c != nullptr &&
        j.boolean(j.field(hc, "Privileged"), path + ".Privileged").value_or(false) &&
        !c->privileged)
        j.deny("containers.privileged", path + ".Privileged=true");
    judge_capabilities(j, j.strings(j.field(hc, "CapAdd"), path + ".CapAdd", true),
                       path + ".CapAdd");
    judge_binds(j, hc, path);
    if (auto* mounts = j.array(j.field(hc, "Mounts"), path + ".Mounts")) {
        for (std::size_t i = 0; i < mounts->items.size() && !j.done(); ++i)
            judge_mount(j, mounts->items[i], indexed(path + ".Mounts", i));
    }
    // Another container's volumes may include its bind mounts.
    for (auto const& from : j.strings(j.field(hc, "VolumesFrom"), path + ".VolumesFrom")) {
        if (c != nullptr || j.ownership())
            j.require(requirement_kind::container_owned, from.substr(0, from.find(':')),
                      field_text(path + ".VolumesFrom", from),
                      c != nullptr ? "containers.bind_sources" : "ownership");
    }
    for (auto const& link : j.strings(j.field(hc, "Links"), path + ".Links")) {
        if (j.ownership())
            j.require(requirement_kind::container_owned, link.substr(0, link.find(':')),
                      field_text(path + ".Links", link), "ownership");
    }
    struct mode_field {
        char const* name;
        namespace_field kind;
    };
    static constexpr mode_field modes[] = {
        {"NetworkMode", namespace_field::network}, {"PidMode", namespace_field::pid},
        {"IpcMode", namespace_field::ipc},         {"UTSMode", namespace_field::uts},
        {"UsernsMode", namespace_field::userns},   {"CgroupnsMode", namespace_field::cgroupns},
        {"Cgroup", namespace_field::cgroup}};
    for (auto const& m : modes) {
        auto const value = j.string(j.field(hc, m.name), path + "." + m.name).value_or("");
        judge_mode(j, m.kind, value, path + "." + m.name);
    }
    if (c == nullptr)
        return;
    judge_resources(j, hc, path + ".");
    judge_security(j, hc, path);
    auto const sysctls = j.string_map(j.field(hc, "Sysctls"), path + ".Sysctls");
    if (!sysctls.empty() && !c->sysctls)
        j.deny("containers.sysctls", field_text(path + ".Sysctls", join_options(sysctls)));
    auto const runtime = j.string(j.field(hc, "Runtime"), path + ".Runtime").value_or("");
    if (!runtime.empty() &&
        std::find(c->runtimes.begin(), c->runtimes.end(), runtime) == c->runtimes.end())
        j.deny("containers.runtimes", field_text(path + ".Runtime", runtime));
    judge_groups(j, j.strings(j.field(hc, "GroupAdd"), path + ".GroupAdd"), path + ".GroupAdd");
}

} // namespace dockgate::inspect::detail
