// The container rules as they apply to swarm service specs (TaskTemplate.ContainerSpec and
// its networks) and to plugin installation (the privileges a plugin asks for map onto the
// same rules as a container's).

#include <algorithm>

#include "gateway/inspect/daemon_rules.hpp"
#include "gateway/inspect/judge.hpp"

namespace dockgate::inspect::detail {

namespace {

std::string indexed(std::string const& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

void judge_privileges(judge& j, json_value& cs, std::string const& path) {
    auto const* c = j.containers();
    auto* privileges = j.object(j.field(cs, "Privileges"), path + ".Privileges");
    if (c == nullptr || privileges == nullptr || c->unconfined)
        return;
    std::string const p = path + ".Privileges";
    if (auto* se = j.object(j.field(*privileges, "SELinuxContext"), p + ".SELinuxContext")) {
        if (j.boolean(j.field(*se, "Disable"), p + ".SELinuxContext.Disable").value_or(false))
            j.deny("containers.unconfined", p + ".SELinuxContext.Disable=true",
                   "turns off SELinux labelling");
        auto const type = j.string(j.field(*se, "Type"), p + ".SELinuxContext.Type").value_or("");
        if (!type.empty() && type != "container_t" && type != "container_init_t")
            j.deny("containers.unconfined", field_text(p + ".SELinuxContext.Type", type),
                   "runs outside the container SELinux type");
    }
    if (auto* sec = j.object(j.field(*privileges, "Seccomp"), p + ".Seccomp")) {
        auto const mode = j.string(j.field(*sec, "Mode"), p + ".Seccomp.Mode").value_or("");
        if (!mode.empty() && mode != "default")
            j.deny("containers.unconfined", field_text(p + ".Seccomp.Mode", mode),
                   mode == "unconfined" ? "disables the syscall filter"
                                        : "a custom seccomp profile can allow any syscall");
    }
    if (auto* aa = j.object(j.field(*privileges, "AppArmor"), p + ".AppArmor")) {
        auto const mode = j.string(j.field(*aa, "Mode"), p + ".AppArmor.Mode").value_or("");
        if (!mode.empty() && mode != "default")
            j.deny("containers.unconfined", field_text(p + ".AppArmor.Mode", mode),
                   "removes the AppArmor profile");
    }
}

void judge_container_spec(judge& j, json_value& cs, std::string const& path) {
    auto const* c = j.containers();
    auto const image = j.string(j.field(cs, "Image"), path + ".Image").value_or("");
    judge_image(j, image, path + ".Image");
    auto const user = j.string(j.field(cs, "User"), path + ".User").value_or("");
    judge_run_as(j, user, path + ".User", requirement_kind::image_user_non_root, image);
    judge_groups(j, j.strings(j.field(cs, "Groups"), path + ".Groups"), path + ".Groups");
    judge_privileges(j, cs, path);
    judge_capabilities(j, j.strings(j.field(cs, "CapabilityAdd"), path + ".CapabilityAdd"),
                       path + ".CapabilityAdd");
    if (auto* mounts = j.array(j.field(cs, "Mounts"), path + ".Mounts")) {
        for (std::size_t i = 0; i < mounts->items.size() && !j.done(); ++i)
            judge_mount(j, mounts->items[i], indexed(path + ".Mounts", i));
    }
    auto const sysctls = j.string_map(j.field(cs, "Sysctls"), path + ".Sysctls");
    if (c != nullptr && !sysctls.empty() && !c->sysctls)
        j.deny("containers.sysctls",
               field_text(path + ".Sysctls", sysctls.front().first + "=" + sysctls.front().second));
    apply_owner_label(j, cs, path + ".Labels");
}

void judge_networks(judge& j, json_value* networks, std::string const& path) {
    if (auto* list = j.array(networks, path)) {
        for (std::size_t i = 0; i < list->items.size() && !j.done(); ++i) {
            auto& n = list->items[i];
            if (!n.is_object()) {
                j.invalid(indexed(path, i) + " must be an object");
                return;
            }
            auto const target =
                j.string(j.field(n, "Target"), indexed(path, i) + ".Target").value_or("");
            judge_network_name(j, target, field_text(indexed(path, i) + ".Target", target),
                               "containers.host_namespaces");
        }
    }
}

} // namespace

void judge_service_spec(judge& j, json_value& spec) {
    auto const* c = j.containers();
    apply_owner_label(j, spec, "Labels");
    judge_networks(j, j.field(spec, "Networks"), "Networks");
    auto* task = j.object(j.field(spec, "TaskTemplate"), "TaskTemplate");
    if (task == nullptr)
        return;
    if (c != nullptr && !c->privileged) {
        // A plugin task installs a plugin on every node with whatever privileges it declares.
        if (j.object(j.field(*task, "PluginSpec"), "TaskTemplate.PluginSpec") != nullptr)
            j.deny("containers.privileged", "TaskTemplate.PluginSpec=...",
                   "a plugin task runs with the plugin's own privileges");
        auto const runtime =
            j.string(j.field(*task, "Runtime"), "TaskTemplate.Runtime").value_or("");
        if (!runtime.empty() && runtime != "container")
            j.deny("containers.privileged", field_text("TaskTemplate.Runtime", runtime),
                   "only container tasks can be judged");
    }
    judge_networks(j, j.field(*task, "Networks"), "TaskTemplate.Networks");
    if (auto* cs = j.object(j.field(*task, "ContainerSpec"), "TaskTemplate.ContainerSpec"))
        judge_container_spec(j, *cs, "TaskTemplate.ContainerSpec");
}

// PluginPull/PluginUpgrade: the privileges the caller accepts, [{Name, Description, Value}],
// as the daemon computes them from the plugin's config.
void judge_plugin_privileges(judge& j, json_value& privileges) {
    auto const* c = j.containers();
    if (c == nullptr || privileges.is_null())
        return;
    if (!privileges.is_array()) {
        j.invalid("the plugin privileges must be an array");
        return;
    }
    for (std::size_t i = 0; i < privileges.items.size() && !j.done(); ++i) {
        auto& p = privileges.items[i];
        std::string const path = indexed("Privileges", i);
        if (!p.is_object()) {
            j.invalid(path + " must be an object");
            return;
        }
        auto const name = j.string(j.field(p, "Name"), path + ".Name").value_or("");
        auto const values = j.strings(j.field(p, "Value"), path + ".Value");
        std::string const field =
            field_text(path, name + "=" + (values.empty() ? "" : values.front()));
        if (name == "network") {
            for (auto const& v : values)
                if (v != "null" && v != "bridge" && v != "" && !c->host_namespaces)
                    j.deny("containers.host_namespaces", field_text(path, "network=" + v));
        } else if (name == "host pid namespace" || name == "host ipc namespace") {
            if (!c->host_namespaces)
                j.deny("containers.host_namespaces", field);
        } else if (name == "mount") {
            for (auto const& v : values)
                judge_bind_source(j, v, field_text(path, "mount=" + v));
        } else if (name == "device" || name == "allow-all-devices") {
            if (!c->devices)
                j.deny("containers.devices", field);
        } else if (name == "capabilities") {
            judge_capabilities(j, values, path + ".Value");
        } else if (!c->privileged) {
            j.deny("containers.privileged", field, "not a plugin privilege the gateway knows");
        }
    }
}

// PluginSet: ["KEY=value", "mountname.source=/path", "devicename.path=/dev/x", "args=..."].
void judge_plugin_settings(judge& j, json_value& settings) {
    auto const* c = j.containers();
    auto const entries = j.strings(&settings, "the plugin settings");
    if (c == nullptr)
        return;
    for (auto const& e : entries) {
        auto const eq = e.find('=');
        std::string const key = e.substr(0, eq);
        std::string const value = eq == std::string::npos ? "" : e.substr(eq + 1);
        auto const dot = key.rfind('.');
        std::string const attribute = dot == std::string::npos ? "" : key.substr(dot + 1);
        if (attribute == "source")
            judge_bind_source(j, value, field_text("Settings", e));
        else if (attribute == "path" && !c->devices)
            j.deny("containers.devices", field_text("Settings", e));
        if (j.done())
            return;
    }
}

} // namespace dockgate::inspect::detail
