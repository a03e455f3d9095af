// The container rules ([roles.NAME.containers], images, volumes) applied to HostConfig and the
// parts of a container spec the daemon acts on at the host's level. Each HostConfig field of
// Engine API 1.41-1.56 that can reach the host is judged here; see inspect.hpp for the
// requirements returned instead of decisions.

#include <algorithm>
#include <cctype>

#include "config/constraints.hpp"
#include "gateway/inspect/daemon_rules.hpp"
#include "gateway/inspect/image_reference.hpp"
#include "gateway/inspect/judge.hpp"
#include "gateway/inspect/option_rules.hpp"

namespace dockgate::inspect::detail {

namespace {

std::string indexed(std::string const& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

// A dotted message path ("HostConfig.PidMode") as the member names of a pin.
std::vector<std::string> members_of(std::string const& path) {
    std::vector<std::string> out;
    for (std::size_t start = 0;;) {
        auto const dot = path.find('.', start);
        out.push_back(path.substr(start, dot == std::string::npos ? dot : dot - start));
        if (dot == std::string::npos)
            return out;
        start = dot + 1;
    }
}

// The pin path of element i of the array at dotted `path`.
// "[i]", a pin path's array element (appended: GCC 12 warns falsely about `"[" + ...`).
std::string index_name(std::size_t i) {
    std::string out = "[";
    out += std::to_string(i);
    out += ']';
    return out;
}

std::vector<std::string> element_of(std::string const& path, std::size_t i) {
    auto out = members_of(path);
    out.push_back(index_name(i));
    return out;
}

// A legacy link "name[:alias]": the container it names, and what follows once that name is
// replaced by the container's id. Without an alias the daemon uses the name as the alias, so it
// is kept: "db" becomes "<id>:db".
std::string link_target(std::string const& link) {
    return link.substr(0, link.find(':'));
}
std::string link_alias(std::string const& link) {
    auto const colon = link.find(':');
    if (colon != std::string::npos)
        return link.substr(colon);
    std::string alias = ":"; // appended: GCC 12 warns falsely about `":" + link`
    alias += link;
    return alias;
}

pin pin_value(std::vector<std::string> path, std::string before = {}, std::string after = {}) {
    pin p;
    p.where = pin::place::body_value;
    p.path = std::move(path);
    p.before = std::move(before);
    p.after = std::move(after);
    return p;
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
                      confined ? "containers.host_namespaces" : "ownership",
                      pin_value(members_of(path), "container:"));
        return;
    case mode_class::network:
        judge_network_name(j, m.subject, field, "containers.host_namespaces",
                           pin_value(members_of(path)));
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
        if (auto const* c = j.containers(); c != nullptr && !spec->mode.empty()) {
            if (auto refused = judge_bind_mode(spec->mode)) {
                j.deny(refused->rule, field_text(path + ".Binds", binds[i]), refused->why);
                return;
            }
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
        if (auto refused = judge_security_opt(opt, *c))
            j.deny(refused->rule, field_text(path + ".SecurityOpt", opt), refused->why);
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
                        std::string_view rule, std::optional<pin> pinned) {
    auto const* c = j.containers();
    if (network == "host") {
        if (c != nullptr && !c->host_namespaces)
            j.deny(rule, field);
        return;
    }
    if (network.empty() || network == "default" || network == "bridge" || network == "none")
        return;
    if ((c != nullptr && !c->host_namespaces) || j.ownership())
        j.require(requirement_kind::network_not_host, std::string(network), field, rule,
                  std::move(pinned));
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
    auto const* c = j.containers();
    auto const type = j.string(j.field(mount, "Type"), path + ".Type").value_or("");
    auto const source = j.string(j.field(mount, "Source"), path + ".Source").value_or("");
    if (j.done())
        return;
    std::string const source_field = field_text(path + ".Source", source);
    if (auto* bind = j.object(j.field(mount, "BindOptions"), path + ".BindOptions")) {
        auto propagation =
            j.string(j.field(*bind, "Propagation"), path + ".BindOptions.Propagation").value_or("");
        std::transform(propagation.begin(), propagation.end(), propagation.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        if (c != nullptr && (propagation == "shared" || propagation == "rshared"))
            j.deny("containers.bind_sources",
                   field_text(path + ".BindOptions.Propagation", propagation),
                   "shared propagation carries the container's mounts into the host");
    }
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
            judge_volume_driver(j, name, field_text(p + ".Name", name));
            judge_driver_options(j, name, j.string_map(j.field(*driver, "Options"), p + ".Options"),
                                 p + ".Options");
        }
        // A named volume the mount creates belongs to the caller like one made by VolumeCreate.
        if (!source.empty() && (options != nullptr || j.req().add_owner_label)) {
            auto& opts = options != nullptr
                             ? *options
                             : ensure_member(mount, "VolumeOptions", json_kind::object);
            apply_owner_label(j, opts, path + ".VolumeOptions.Labels");
        }
        if (!source.empty() && j.ownership())
            j.require(requirement_kind::volume_owned, source, source_field, "ownership");
        if (!source.empty() && c != nullptr)
            j.require(requirement_kind::volume_confined, source, source_field,
                      "containers.bind_sources");
    } else if (type == "image") {
        judge_image(j, source, source_field);
    } else if (type == "cluster") {
        if (c != nullptr && !c->unconfined)
            j.deny("containers.unconfined", field_text(path + ".Type", type),
                   "a cluster volume is mounted on the node by a CSI plugin");
    } else if (type != "tmpfs" && c != nullptr) {
        j.deny("containers.bind_sources", field_text(path + ".Type", type),
               "not a mount type the gateway knows");
    }
}

void judge_volume_driver(judge& j, std::string_view name, std::string const& field) {
    if (name.empty() || j.rules().empty())
        return;
    if (!config::valid_plugin_name(name)) {
        j.deny("volumes.drivers", field,
               "not a plugin name (the daemon would look the driver up as a file path)");
        return;
    }
    auto const* allowed = j.rules().volume_drivers();
    if (allowed != nullptr && std::find(allowed->begin(), allowed->end(), name) == allowed->end())
        j.deny("volumes.drivers", field, "not in volumes.drivers");
}

void judge_log_config(judge& j, json_value& log_config, std::string const& path) {
    auto const* c = j.containers();
    auto const type = j.string(j.field(log_config, "Type"), path + ".Type").value_or("");
    auto const options = j.string_map(j.field(log_config, "Config"), path + ".Config");
    if (j.done() || j.rules().empty())
        return;
    if (c == nullptr) {
        // No containers section: only that the daemon cannot be sent looking on disk.
        if (!type.empty() && !config::valid_plugin_name(type))
            j.deny("containers.log_drivers", field_text(path + ".Type", type),
                   "not a plugin name (the daemon would look the driver up as a file path)");
        return;
    }
    if (auto refused = inspect::judge_log_config(type, options, *c)) {
        std::string shown = type;
        for (auto const& [k, v] : options)
            shown += (shown.empty() ? "" : ",") + k + "=" + v;
        j.deny(refused->rule, field_text(path, shown), refused->why);
    }
}

void judge_endpoints(judge& j, json_value& endpoints, std::string const& path) {
    auto const* c = j.containers();
    for (auto& m : endpoints.members) {
        std::string const at = path + "." + m.key;
        pin key;
        key.where = pin::place::body_key;
        key.path = members_of(path);
        key.path.push_back(m.key);
        judge_network_name(j, m.key, field_text(path, m.key), "containers.host_namespaces", key);
        if (j.done() || m.value.is_null())
            continue;
        if (!m.value.is_object()) {
            j.invalid(at + " must be an object");
            return;
        }
        // The daemon attaches to NetworkID instead of the network the key names.
        auto const id = j.string(j.field(m.value, "NetworkID"), at + ".NetworkID").value_or("");
        if (!id.empty() && id != m.key && !j.rules().empty())
            j.deny(c != nullptr ? "containers.host_namespaces" : "ownership",
                   field_text(at + ".NetworkID", id),
                   "the daemon would join this network instead of " + printable(m.key));
        auto const links = j.strings(j.field(m.value, "Links"), at + ".Links");
        for (std::size_t i = 0; i < links.size(); ++i) {
            if (!j.ownership())
                break;
            auto p = members_of(path);
            p.push_back(m.key);
            p.push_back("Links");
            p.push_back(index_name(i));
            j.require(requirement_kind::container_owned, link_target(links[i]),
                      field_text(at + ".Links", links[i]), "ownership",
                      pin_value(std::move(p), "", link_alias(links[i])));
        }
        for (auto const& [key, value] :
             j.string_map(j.field(m.value, "DriverOpts"), at + ".DriverOpts")) {
            if (c == nullptr || j.done())
                break;
            if (auto refused = judge_endpoint_option(key, value, *c))
                j.deny(refused->rule, field_text(at + ".DriverOpts." + key, value), refused->why);
        }
    }
}

void judge_healthcheck(judge& j, json_value& config, std::string const& path) {
    auto* hc = j.object(j.field(config, "Healthcheck"), path);
    if (hc == nullptr || j.containers() == nullptr)
        return;
    for (auto const* name : {"Interval", "StartInterval"}) {
        auto* v = j.field(*hc, name);
        if (v == nullptr || j.done())
            continue;
        if (v->kind != json_kind::number) {
            j.invalid(path + "." + name + " must be a number of nanoseconds");
            return;
        }
        if (auto refused = judge_health_interval(v->text))
            j.deny(refused->rule, field_text(path + "." + name, v->text), refused->why);
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

void judge_ulimits(judge& j, json_value& obj, std::string const& path) {
    auto* list = j.array(j.field(obj, "Ulimits"), path + ".Ulimits");
    if (list == nullptr || j.containers() == nullptr)
        return;
    for (std::size_t i = 0; i < list->items.size() && !j.done(); ++i) {
        auto& u = list->items[i];
        if (!u.is_object())
            continue; // the field tables and the daemon refuse it
        auto const name =
            j.string(j.field(u, "Name"), indexed(path + ".Ulimits", i) + ".Name").value_or("");
        if (auto refused = judge_ulimit(name); refused && !j.done())
            j.deny(refused->rule, field_text(path + ".Ulimits", name), refused->why);
    }
}

void judge_port_bindings(judge& j, json_value& hc, std::string const& path) {
    auto const* c = j.containers();
    auto* bindings = j.object(j.field(hc, "PortBindings"), path + ".PortBindings");
    if (bindings == nullptr || c == nullptr)
        return;
    for (auto& m : bindings->members) {
        std::string const at = path + ".PortBindings." + m.key;
        auto* list = j.array(&m.value, at);
        for (std::size_t i = 0; list != nullptr && i < list->items.size() && !j.done(); ++i) {
            auto& b = list->items[i];
            if (!b.is_object())
                continue;
            auto const host_port =
                j.string(j.field(b, "HostPort"), indexed(at, i) + ".HostPort").value_or("");
            auto const lowest = lowest_host_port(host_port);
            if (lowest && *lowest == 0)
                j.invalid(field_text(indexed(at, i) + ".HostPort", host_port) +
                          " is not a port or range the daemon accepts");
            else if (lowest && *lowest < 1024 && !c->privileged_ports)
                j.deny("containers.privileged_ports", field_text(at, host_port),
                       "host ports below 1024 are the host's privileged ports");
        }
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
    auto const volumes_from = j.strings(j.field(hc, "VolumesFrom"), path + ".VolumesFrom");
    for (std::size_t i = 0; i < volumes_from.size(); ++i) {
        auto const& from = volumes_from[i];
        auto const colon = from.find(':');
        if (c != nullptr || j.ownership())
            j.require(requirement_kind::container_owned, from.substr(0, colon),
                      field_text(path + ".VolumesFrom", from),
                      c != nullptr ? "containers.bind_sources" : "ownership",
                      pin_value(element_of(path + ".VolumesFrom", i), "",
                                colon == std::string::npos ? "" : from.substr(colon)));
    }
    auto const links = j.strings(j.field(hc, "Links"), path + ".Links");
    for (std::size_t i = 0; i < links.size(); ++i) {
        if (j.ownership())
            j.require(requirement_kind::container_owned, link_target(links[i]),
                      field_text(path + ".Links", links[i]), "ownership",
                      pin_value(element_of(path + ".Links", i), "", link_alias(links[i])));
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
    auto const volume_driver =
        j.string(j.field(hc, "VolumeDriver"), path + ".VolumeDriver").value_or("");
    judge_volume_driver(j, volume_driver, field_text(path + ".VolumeDriver", volume_driver));
    if (auto* log = j.object(j.field(hc, "LogConfig"), path + ".LogConfig"))
        judge_log_config(j, *log, path + ".LogConfig");
    if (c == nullptr)
        return;
    judge_resources(j, hc, path + ".");
    judge_security(j, hc, path);
    auto const sysctls = j.string_map(j.field(hc, "Sysctls"), path + ".Sysctls");
    if (!sysctls.empty() && !c->sysctls)
        j.deny("containers.sysctls", field_text(path + ".Sysctls", join_options(sysctls)));
    for (auto const& [key, value] : sysctls) {
        if (auto refused = judge_sysctl(key); refused && !j.done())
            j.deny(refused->rule, field_text(path + ".Sysctls." + key, value), refused->why);
    }
    for (auto const& [target, options] : j.string_map(j.field(hc, "Tmpfs"), path + ".Tmpfs")) {
        if (auto refused = judge_tmpfs_options(options); refused && !j.done())
            j.deny(refused->rule, field_text(path + ".Tmpfs." + target, options), refused->why);
    }
    for (auto const& [key, value] : j.string_map(j.field(hc, "StorageOpt"), path + ".StorageOpt")) {
        if (auto refused = judge_storage_opt(key); refused && !j.done())
            j.deny(refused->rule, field_text(path + ".StorageOpt." + key, value), refused->why);
    }
    judge_ulimits(j, hc, path);
    judge_port_bindings(j, hc, path);
    if (auto const* adj = j.field(hc, "OomScoreAdj");
        adj != nullptr && adj->kind == json_kind::number && adj->text.starts_with('-') &&
        !fields::is_zero(*adj))
        j.deny("containers", field_text(path + ".OomScoreAdj", adj->text),
               "a negative OOM score makes the kernel kill the host's processes first");
    auto const runtime = j.string(j.field(hc, "Runtime"), path + ".Runtime").value_or("");
    if (!runtime.empty() &&
        std::find(c->runtimes.begin(), c->runtimes.end(), runtime) == c->runtimes.end())
        j.deny("containers.runtimes", field_text(path + ".Runtime", runtime));
    judge_groups(j, j.strings(j.field(hc, "GroupAdd"), path + ".GroupAdd"), path + ".GroupAdd");
}

} // namespace dockgate::inspect::detail
