// The container rules as they apply to swarm service specs (TaskTemplate.ContainerSpec and
// its networks) and to plugin installation (the privileges a plugin asks for map onto the
// same rules as a container's).

#include <algorithm>
#include <cctype>

#include "gateway/inspect/daemon_rules.hpp"
#include "gateway/inspect/judge.hpp"
#include "gateway/inspect/option_rules.hpp"

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
        // Each becomes a label=KEY:VALUE security option on the node: judged as one.
        for (auto const* key : {"User", "Role", "Type", "Level"}) {
            std::string const at = p + ".SELinuxContext." + key;
            auto const value = j.string(j.field(*se, key), at).value_or("");
            if (value.empty() || j.done())
                continue;
            std::string option = "label=";
            for (char const* k = key; *k != '\0'; ++k)
                option += static_cast<char>(std::tolower(static_cast<unsigned char>(*k)));
            option += ":" + value;
            if (auto refused = judge_security_opt(option, *c))
                j.deny(refused->rule, field_text(at, value), refused->why);
        }
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
    if (c != nullptr && !sysctls.empty() && !c->sysctls) {
        std::string all;
        for (auto const& [k, v] : sysctls)
            all += (all.empty() ? "" : ",") + k + "=" + v;
        j.deny("containers.sysctls", field_text(path + ".Sysctls", all));
    }
    for (auto const& [key, value] : sysctls) {
        if (c == nullptr || j.done())
            break;
        if (auto refused = judge_sysctl(key))
            j.deny(refused->rule, field_text(path + ".Sysctls." + key, value), refused->why);
    }
    judge_ulimits(j, cs, path);
    if (auto const* adj = j.field(cs, "OomScoreAdj");
        c != nullptr && adj != nullptr && adj->kind == json_kind::number &&
        adj->text.starts_with('-') && !fields::is_zero(*adj))
        j.deny("containers", field_text(path + ".OomScoreAdj", adj->text),
               "a negative OOM score makes the kernel kill the host's processes first");
    judge_healthcheck(j, cs, path + ".Healthcheck");
    // Secrets and configs are the swarm's; an ownership role reaches only its own.
    for (auto const* list : {"Secrets", "Configs"}) {
        auto* refs = j.array(j.field(cs, list), path + "." + list);
        for (std::size_t i = 0; refs != nullptr && i < refs->items.size() && !j.done(); ++i) {
            auto& ref = refs->items[i];
            if (!ref.is_object())
                continue;
            bool const secret = std::string_view(list) == "Secrets";
            std::string const at = indexed(path + "." + list, i);
            auto const id = j.string(j.field(ref, secret ? "SecretID" : "ConfigID"),
                                     at + (secret ? ".SecretID" : ".ConfigID"))
                                .value_or("");
            if (j.ownership())
                j.require(secret ? requirement_kind::secret_owned : requirement_kind::config_owned,
                          id, field_text(at, id), "ownership");
        }
    }
    apply_owner_label(j, cs, path + ".Labels");
}

void judge_networks(judge& j, json_value* networks, std::string const& path) {
    auto const* c = j.containers();
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
            for (auto const& [key, value] :
                 j.string_map(j.field(n, "DriverOpts"), indexed(path, i) + ".DriverOpts")) {
                if (c == nullptr || j.done())
                    break;
                if (auto refused = judge_endpoint_option(key, value, *c))
                    j.deny(refused->rule,
                           field_text(indexed(path, i) + ".DriverOpts." + key, value),
                           refused->why);
            }
        }
    }
}

// TaskTemplate.LogDriver {Name, Options}: a container's LogConfig by other names.
void judge_task_log_driver(judge& j, json_value& task) {
    auto* driver = j.object(j.field(task, "LogDriver"), "TaskTemplate.LogDriver");
    if (driver == nullptr)
        return;
    auto log_config = json_value::make_object();
    if (auto* name = j.field(*driver, "Name"))
        log_config.members.push_back({"Type", *name});
    if (auto* options = j.field(*driver, "Options"))
        log_config.members.push_back({"Config", *options});
    judge_log_config(j, log_config, "TaskTemplate.LogDriver");
}

// EndpointSpec.Ports: published ports are opened on the nodes' own interfaces.
void judge_published_ports(judge& j, json_value& spec) {
    auto const* c = j.containers();
    auto* endpoint = j.object(j.field(spec, "EndpointSpec"), "EndpointSpec");
    auto* ports =
        endpoint != nullptr ? j.array(j.field(*endpoint, "Ports"), "EndpointSpec.Ports") : nullptr;
    for (std::size_t i = 0; ports != nullptr && c != nullptr && i < ports->items.size(); ++i) {
        auto& port = ports->items[i];
        auto const* published = port.is_object() ? j.field(port, "PublishedPort") : nullptr;
        if (published == nullptr || published->kind != json_kind::number || j.done())
            continue;
        auto const lowest = lowest_host_port(published->text);
        if (lowest && *lowest > 0 && *lowest < 1024 && !c->privileged_ports)
            j.deny("containers.privileged_ports",
                   field_text(indexed("EndpointSpec.Ports", i) + ".PublishedPort", published->text),
                   "host ports below 1024 are the host's privileged ports");
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
    judge_task_log_driver(j, *task);
    judge_published_ports(j, spec);
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
