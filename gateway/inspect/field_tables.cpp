// Every field of the bodies the constraints govern, from the daemon's own types (moby
// api/types at v20.10.24 through the current API), with its judgement:
//   H  harmless: metadata, or confined to the container
//   J  judged: a rule in rules_container.cpp / rules_service.cpp / options.cpp reads it
//   R  refused unless it is the zero value: it reaches the host and no key allows it
// A field missing here is refused when it carries a value, so an addition to a future API is
// refused until it is judged. Fields that a newer daemon added or an older one still honours
// are listed too: the gateway does not know which daemon it fronts.

#include "gateway/inspect/field_tables.hpp"

#include <optional>

#include "gateway/inspect/go_fold.hpp"

namespace dockgate::inspect::fields {

namespace {

constexpr field H(std::string_view name) {
    return {name, verdict::harmless, shape::value, nullptr, {}, {}};
}
constexpr field J(std::string_view name) {
    return {name, verdict::judged, shape::value, nullptr, {}, {}};
}
constexpr field R(std::string_view name, std::string_view rule, std::string_view why) {
    return {name, verdict::refused, shape::value, nullptr, rule, why};
}
constexpr field object(std::string_view name, table const& child, verdict v = verdict::harmless) {
    return {name, v, shape::object, &child, {}, {}};
}
constexpr field array(std::string_view name, table const& child, verdict v = verdict::harmless) {
    return {name, v, shape::array, &child, {}, {}};
}
constexpr field map(std::string_view name, table const& child, verdict v = verdict::harmless) {
    return {name, v, shape::map, &child, {}, {}};
}

// --- container.Config and HostConfig ---------------------------------------------------------

constexpr field health_fields[] = {
    H("Test"), J("Interval"), J("Timeout"), J("StartPeriod"), J("StartInterval"), H("Retries"),
};
constexpr table health{"HealthConfig", health_fields};

constexpr field restart_fields[] = {H("Name"), H("MaximumRetryCount")};
constexpr table restart_policy{"RestartPolicy", restart_fields};

constexpr field log_config_fields[] = {J("Type"), J("Config")};
constexpr table log_config{"LogConfig", log_config_fields};

constexpr field port_binding_fields[] = {J("HostIp"), J("HostPort")};
constexpr table port_binding{"PortBinding", port_binding_fields};

constexpr field device_mapping_fields[] = {H("PathOnHost"), H("PathInContainer"),
                                           H("CgroupPermissions")};
constexpr table device_mapping{"DeviceMapping", device_mapping_fields};

constexpr field device_request_fields[] = {H("Driver"), H("Count"), H("DeviceIDs"),
                                           H("Capabilities"), H("Options")};
constexpr table device_request{"DeviceRequest", device_request_fields};

constexpr field weight_device_fields[] = {H("Path"), H("Weight")};
constexpr table weight_device{"WeightDevice", weight_device_fields};

constexpr field throttle_device_fields[] = {H("Path"), H("Rate")};
constexpr table throttle_device{"ThrottleDevice", throttle_device_fields};

constexpr field ulimit_fields[] = {J("Name"), H("Soft"), H("Hard")};
constexpr table ulimit{"Ulimit", ulimit_fields};

constexpr field bind_options_fields[] = {
    J("Propagation"),          H("NonRecursive"),           J("CreateMountpoint"),
    H("ReadOnlyNonRecursive"), H("ReadOnlyForceRecursive"),
};
constexpr table bind_options{"BindOptions", bind_options_fields};

constexpr field driver_fields[] = {J("Name"), J("Options")};
constexpr table driver{"Driver", driver_fields};

constexpr field volume_options_fields[] = {
    H("NoCopy"),
    J("Labels"),
    H("Subpath"),
    object("DriverConfig", driver, verdict::judged),
};
constexpr table volume_options{"VolumeOptions", volume_options_fields};

constexpr field tmpfs_options_fields[] = {H("SizeBytes"), H("Mode"), H("Options")};
constexpr table tmpfs_options{"TmpfsOptions", tmpfs_options_fields};

constexpr field image_options_fields[] = {H("Subpath")};
constexpr table image_options{"ImageOptions", image_options_fields};

constexpr table cluster_options{"ClusterOptions", {}};

constexpr field mount_fields[] = {
    J("Type"),
    J("Source"),
    H("Target"),
    H("ReadOnly"),
    H("Consistency"),
    object("BindOptions", bind_options),
    object("VolumeOptions", volume_options),
    object("TmpfsOptions", tmpfs_options),
    object("ImageOptions", image_options),
    object("ClusterOptions", cluster_options),
};
constexpr table mount{"Mount", mount_fields};

// HostConfig's own fields; its embedded Resources follow.
constexpr field host_config_fields[] = {
    J("Binds"),
    H("ContainerIDFile"), // written by the CLI, unused by the daemon
    object("LogConfig", log_config, verdict::judged),
    J("NetworkMode"),
    {"PortBindings", verdict::judged, shape::map_of_arrays, &port_binding, {}, {}},
    object("RestartPolicy", restart_policy),
    H("AutoRemove"),
    J("VolumeDriver"),
    J("VolumesFrom"),
    J("CapAdd"),
    H("CapDrop"),
    J("CgroupnsMode"),
    H("Dns"),
    H("DnsOptions"),
    H("DnsSearch"),
    H("ExtraHosts"),
    J("GroupAdd"),
    J("IpcMode"),
    J("Cgroup"),
    J("Links"),
    J("OomScoreAdj"),
    J("PidMode"),
    J("Privileged"),
    H("PublishAllPorts"), // ephemeral host ports (32768 and up): privileged_ports is about ports
    H("ReadonlyRootfs"),
    J("SecurityOpt"),
    J("StorageOpt"),
    J("Tmpfs"),
    J("UTSMode"),
    J("UsernsMode"),
    H("ShmSize"),
    J("Sysctls"),
    J("Runtime"),
    H("ConsoleSize"),
    H("Isolation"), // Windows; a Linux daemon accepts only the default
    J("Annotations"),
    J("MaskedPaths"),
    J("ReadonlyPaths"),
    array("Mounts", mount, verdict::judged),
    // 19.03 (API 1.40) honoured a full capability set that replaced the default one.
    R("Capabilities", "containers.cap_add",
      "a full capability set replaces the default one on daemons that honour it; use CapAdd"),
};

// container.Resources, embedded in HostConfig and the whole of a ContainerUpdate body.
constexpr field resources_fields[] = {
    H("CpuShares"),
    H("Memory"),
    H("NanoCpus"),
    J("CgroupParent"),
    H("BlkioWeight"),
    array("BlkioWeightDevice", weight_device),
    array("BlkioDeviceReadBps", throttle_device),
    array("BlkioDeviceWriteBps", throttle_device),
    array("BlkioDeviceReadIOps", throttle_device),
    array("BlkioDeviceWriteIOps", throttle_device),
    H("CpuPeriod"),
    H("CpuQuota"),
    R("CpuRealtimePeriod", "containers",
      "a real-time CPU budget lets the container starve the host's processes"),
    R("CpuRealtimeRuntime", "containers",
      "a real-time CPU budget lets the container starve the host's processes"),
    H("CpusetCpus"),
    H("CpusetMems"),
    array("Devices", device_mapping, verdict::judged),
    J("DeviceCgroupRules"),
    array("DeviceRequests", device_request, verdict::judged),
    H("KernelMemory"),
    H("KernelMemoryTCP"),
    H("MemoryReservation"),
    H("MemorySwap"),
    H("MemorySwappiness"),
    R("OomKillDisable", "containers",
      "a container the OOM killer spares can exhaust the host's memory"),
    H("PidsLimit"),
    array("Ulimits", ulimit, verdict::judged),
    H("CpuCount"),
    H("CpuPercent"),
    H("IOMaximumIOps"),
    H("IOMaximumBandwidth"),
    H("Init"), // docker-init as PID 1 (the daemon's own binary)
};
constexpr table host_config_table{"HostConfig", host_config_fields, resources_fields};

constexpr field endpoint_ipam_fields[] = {H("IPv4Address"), H("IPv6Address"), H("LinkLocalIPs")};
constexpr table endpoint_ipam{"EndpointIPAMConfig", endpoint_ipam_fields};

constexpr field endpoint_fields[] = {
    object("IPAMConfig", endpoint_ipam),
    J("Links"),
    H("Aliases"),
    J("NetworkID"), // honoured as input: the daemon attaches to it instead of the key
    H("EndpointID"),
    H("Gateway"),
    H("IPAddress"),
    H("IPPrefixLen"),
    H("IPv6Gateway"),
    H("GlobalIPv6Address"),
    H("GlobalIPv6PrefixLen"),
    H("MacAddress"),
    J("DriverOpts"),
    H("GwPriority"),
    H("DNSNames"), // recomputed by the daemon
};
constexpr table endpoint_settings{"EndpointSettings", endpoint_fields};

constexpr field networking_fields[] = {map("EndpointsConfig", endpoint_settings, verdict::judged)};
constexpr table networking_config{"NetworkingConfig", networking_fields};

constexpr field container_config_fields[] = {
    H("Hostname"),
    H("Domainname"),
    J("User"),
    H("AttachStdin"),
    H("AttachStdout"),
    H("AttachStderr"),
    H("ExposedPorts"),
    H("Tty"),
    H("OpenStdin"),
    H("StdinOnce"),
    H("Env"),
    H("Cmd"),
    object("Healthcheck", health),
    H("ArgsEscaped"),
    J("Image"),
    H("Volumes"), // anonymous volumes; their driver is HostConfig.VolumeDriver, judged
    H("WorkingDir"),
    H("Entrypoint"),
    H("NetworkDisabled"),
    H("MacAddress"),
    H("OnBuild"),
    J("Labels"),
    H("StopSignal"),
    H("StopTimeout"),
    H("Shell"),
    object("HostConfig", host_config_table, verdict::judged),
    object("NetworkingConfig", networking_config, verdict::judged),
};
constexpr table container_create_table{"ContainerCreate", container_config_fields};

constexpr field update_fields[] = {object("RestartPolicy", restart_policy)};
constexpr table container_update_table{"ContainerUpdate", update_fields, resources_fields};

constexpr field exec_fields[] = {
    // docker-py sends the container's id here too; daemons take it from the path only.
    H("Container"),   J("User"),         J("Privileged"),   H("Tty"),    H("ConsoleSize"),
    H("AttachStdin"), H("AttachStderr"), H("AttachStdout"), H("Detach"), H("DetachKeys"),
    H("Env"),         H("WorkingDir"),   H("Cmd"),
};
constexpr table exec_create_table{"ExecCreate", exec_fields};

// --- volumes and networks ---------------------------------------------------------------------

constexpr field volume_fields[] = {
    H("Name"),
    J("Driver"),
    J("DriverOpts"),
    J("Labels"),
    R("ClusterVolumeSpec", "volumes",
      "a swarm cluster volume is provisioned and mounted on the nodes by a CSI plugin"),
};
constexpr table volume_create_table{"VolumeCreate", volume_fields};

constexpr field ipam_pool_fields[] = {H("Subnet"), H("IPRange"), H("Gateway"),
                                      H("AuxiliaryAddresses")};
constexpr table ipam_pool{"IPAMConfig", ipam_pool_fields};

constexpr field ipam_fields[] = {J("Driver"), J("Options"), array("Config", ipam_pool)};
constexpr table ipam{"IPAM", ipam_fields};

constexpr field config_from_fields[] = {J("Network")};
constexpr table config_from{"ConfigReference", config_from_fields};

constexpr field network_fields[] = {
    H("Name"),
    H("CheckDuplicate"),
    J("Driver"),
    H("Scope"),
    H("EnableIPv6"),
    H("EnableIPv4"),
    object("IPAM", ipam, verdict::judged),
    H("Internal"),
    H("Attachable"),
    R("Ingress", "containers.host_namespaces",
      "the ingress network publishes ports on every node of the swarm"),
    H("ConfigOnly"),
    object("ConfigFrom", config_from, verdict::judged),
    J("Options"),
    J("Labels"),
};
constexpr table network_create_table{"NetworkCreate", network_fields};

constexpr field connect_fields[] = {
    J("Container"),
    object("EndpointConfig", endpoint_settings, verdict::judged),
};
constexpr table network_connect_table{"NetworkConnect", connect_fields};

// --- swarm services ---------------------------------------------------------------------------

constexpr field selinux_fields[] = {J("Disable"), J("User"), J("Role"), J("Type"), J("Level")};
constexpr table selinux_context{"SELinuxContext", selinux_fields};

constexpr field seccomp_fields[] = {J("Mode"), J("Profile")};
constexpr table seccomp_opts{"SeccompOpts", seccomp_fields};

constexpr field apparmor_fields[] = {J("Mode")};
constexpr table apparmor_opts{"AppArmorOpts", apparmor_fields};

constexpr field privileges_fields[] = {
    R("CredentialSpec", "containers.unconfined",
      "a credential spec reads the node's files or registry for a Windows identity"),
    object("SELinuxContext", selinux_context, verdict::judged),
    object("Seccomp", seccomp_opts, verdict::judged),
    object("AppArmor", apparmor_opts, verdict::judged),
    H("NoNewPrivileges"),
};
constexpr table privileges{"Privileges", privileges_fields};

constexpr field secret_file_fields[] = {H("Name"), H("UID"), H("GID"), H("Mode")};
constexpr table secret_file{"SecretReferenceFileTarget", secret_file_fields};

constexpr field secret_ref_fields[] = {J("SecretID"), J("SecretName"), object("File", secret_file)};
constexpr table secret_ref{"SecretReference", secret_ref_fields};

constexpr field config_ref_fields[] = {J("ConfigID"), J("ConfigName"), object("File", secret_file),
                                       H("Runtime")};
constexpr table config_ref{"ConfigReference", config_ref_fields};

constexpr field dns_config_fields[] = {H("Nameservers"), H("Search"), H("Options")};
constexpr table dns_config{"DNSConfig", dns_config_fields};

constexpr field container_spec_fields[] = {
    J("Image"),
    J("Labels"),
    H("Command"),
    H("Args"),
    H("Hostname"),
    H("Env"),
    H("Dir"),
    J("User"),
    J("Groups"),
    object("Privileges", privileges, verdict::judged),
    H("Init"),
    H("StopSignal"),
    H("TTY"),
    H("OpenStdin"),
    H("ReadOnly"),
    array("Mounts", mount, verdict::judged),
    H("StopGracePeriod"),
    object("Healthcheck", health),
    H("Hosts"),
    object("DNSConfig", dns_config),
    array("Secrets", secret_ref, verdict::judged),
    array("Configs", config_ref, verdict::judged),
    H("Isolation"),
    J("Sysctls"),
    J("CapabilityAdd"),
    H("CapabilityDrop"),
    array("Ulimits", ulimit, verdict::judged),
    J("OomScoreAdj"),
};
constexpr table container_spec{"ContainerSpec", container_spec_fields};

constexpr field attachment_fields[] = {J("Target"), H("Aliases"), J("DriverOpts")};
constexpr table network_attachment{"NetworkAttachmentConfig", attachment_fields};

constexpr field log_driver_fields[] = {J("Name"), J("Options")};
constexpr table log_driver{"Driver", log_driver_fields};

constexpr field named_resource_fields[] = {H("Kind"), H("Value")};
constexpr table named_resource{"NamedGenericResource", named_resource_fields};

constexpr field generic_resource_fields[] = {object("NamedResourceSpec", named_resource),
                                             object("DiscreteResourceSpec", named_resource)};
constexpr table generic_resource{"GenericResource", generic_resource_fields};

constexpr field limit_fields[] = {H("NanoCPUs"), H("MemoryBytes"), H("Pids"),
                                  array("GenericResources", generic_resource)};
constexpr table limit{"Limit", limit_fields};

constexpr field task_resources_fields[] = {object("Limits", limit), object("Reservations", limit),
                                           H("SwapBytes"), H("MemorySwappiness")};
constexpr table task_resources{"ResourceRequirements", task_resources_fields};

constexpr field task_restart_fields[] = {H("Condition"), H("Delay"), H("MaxAttempts"), H("Window")};
constexpr table task_restart{"RestartPolicy", task_restart_fields};

constexpr field platform_fields[] = {H("Architecture"), H("OS")};
constexpr table platform{"Platform", platform_fields};

constexpr field spread_fields[] = {H("SpreadDescriptor")};
constexpr table spread{"SpreadOver", spread_fields};

constexpr field preference_fields[] = {object("Spread", spread)};
constexpr table preference{"PlacementPreference", preference_fields};

constexpr field placement_fields[] = {H("Constraints"), array("Preferences", preference),
                                      H("MaxReplicas"), array("Platforms", platform)};
constexpr table placement{"Placement", placement_fields};

constexpr field task_fields[] = {
    object("ContainerSpec", container_spec, verdict::judged),
    J("PluginSpec"),
    R("NetworkAttachmentSpec", "containers",
      "attachment tasks join a container the gateway did not judge"),
    object("Resources", task_resources),
    object("RestartPolicy", task_restart),
    object("Placement", placement),
    array("Networks", network_attachment, verdict::judged),
    object("LogDriver", log_driver, verdict::judged),
    H("ForceUpdate"),
    J("Runtime"),
};
constexpr table task_spec{"TaskSpec", task_fields};

constexpr field replicated_fields[] = {H("Replicas")};
constexpr table replicated{"ReplicatedService", replicated_fields};
constexpr field replicated_job_fields[] = {H("MaxConcurrent"), H("TotalCompletions")};
constexpr table replicated_job{"ReplicatedJob", replicated_job_fields};
constexpr table global{"GlobalService", {}};

constexpr field mode_fields[] = {object("Replicated", replicated), object("Global", global),
                                 object("ReplicatedJob", replicated_job),
                                 object("GlobalJob", global)};
constexpr table service_mode{"ServiceMode", mode_fields};

constexpr field update_config_fields[] = {H("Parallelism"),     H("Delay"),
                                          H("FailureAction"),   H("Monitor"),
                                          H("MaxFailureRatio"), H("Order")};
constexpr table update_config{"UpdateConfig", update_config_fields};

constexpr field port_config_fields[] = {H("Name"), H("Protocol"), H("TargetPort"),
                                        J("PublishedPort"), H("PublishMode")};
constexpr table port_config{"PortConfig", port_config_fields};

constexpr field endpoint_spec_fields[] = {H("Mode"), array("Ports", port_config, verdict::judged)};
constexpr table endpoint_spec{"EndpointSpec", endpoint_spec_fields};

constexpr field service_fields[] = {
    H("Name"),
    J("Labels"),
    object("TaskTemplate", task_spec, verdict::judged),
    object("Mode", service_mode),
    object("UpdateConfig", update_config),
    object("RollbackConfig", update_config),
    array("Networks", network_attachment, verdict::judged), // deprecated, still honoured
    object("EndpointSpec", endpoint_spec, verdict::judged),
};
constexpr table service_spec_table{"ServiceSpec", service_fields};

// --- plugins, secrets and configs -------------------------------------------------------------

constexpr field privilege_fields[] = {J("Name"), H("Description"), J("Value")};
constexpr table plugin_privilege_table{"PluginPrivilege", privilege_fields};

constexpr field secret_driver_fields[] = {H("Name"), H("Options")};
constexpr table secret_driver{"Driver", secret_driver_fields};

constexpr field secret_fields[] = {
    H("Name"),
    J("Labels"),
    H("Data"),
    R("Driver", "ownership",
      "an external secret provider is a plugin the managers call with the secret's context"),
    object("Templating", secret_driver),
};
constexpr table secret_create_table{"SecretSpec", secret_fields};

bool zero_number(std::string_view literal) noexcept {
    // A JSON number is zero when every digit of its mantissa is zero ("-0", "0.000", "0e9").
    for (char c : literal) {
        if (c == 'e' || c == 'E')
            break;
        if (c >= '1' && c <= '9')
            return false;
    }
    return true;
}

std::string shown(json_value const& v) {
    std::string text = v.is_string() ? v.text : write_json(v);
    constexpr std::size_t max_text = 200;
    if (text.size() > max_text) {
        text.resize(max_text);
        text += "...";
    }
    return text;
}

std::optional<unjudged> walk(json_value const& obj, table const& t, std::string const& path,
                             rule_applies const& applies);

std::optional<unjudged> walk_child(json_value const& v, field const& f, std::string const& path,
                                   rule_applies const& applies) {
    if (f.child == nullptr)
        return std::nullopt;
    auto const in_array = [&](json_value const& arr,
                              std::string const& at) -> std::optional<unjudged> {
        if (!arr.is_array())
            return std::nullopt; // the daemon refuses the type; the rules say so
        for (std::size_t i = 0; i < arr.items.size(); ++i) {
            if (auto found =
                    walk(arr.items[i], *f.child, at + "[" + std::to_string(i) + "]", applies))
                return found;
        }
        return std::nullopt;
    };
    switch (f.form) {
    case shape::value:
        return std::nullopt;
    case shape::object:
        return walk(v, *f.child, path, applies);
    case shape::array:
        return in_array(v, path);
    case shape::map:
    case shape::map_of_arrays:
        if (!v.is_object())
            return std::nullopt;
        for (auto const& m : v.members) {
            std::string const at = path + "." + m.key;
            auto found =
                f.form == shape::map ? walk(m.value, *f.child, at, applies) : in_array(m.value, at);
            if (found)
                return found;
        }
        return std::nullopt;
    }
    return std::nullopt;
}

std::optional<unjudged> walk(json_value const& obj, table const& t, std::string const& path,
                             rule_applies const& applies) {
    if (!obj.is_object())
        return std::nullopt; // the daemon refuses the type; the rules say so
    for (auto const& m : obj.members) {
        std::string const at = path.empty() ? m.key : path + "." + m.key;
        auto const* f = find(t, m.key);
        if (f == nullptr) {
            if (!is_zero(m.value))
                return unjudged{at, shown(m.value), {}, "not a field the gateway judges"};
            continue;
        }
        if (f->judgement == verdict::refused) {
            if (!is_zero(m.value) && applies(f->rule))
                return unjudged{at, shown(m.value), f->rule, f->why};
            continue;
        }
        if (auto found = walk_child(m.value, *f, at, applies))
            return found;
    }
    return std::nullopt;
}

} // namespace

table const& container_create() noexcept {
    return container_create_table;
}
table const& host_config() noexcept {
    return host_config_table;
}
table const& container_update() noexcept {
    return container_update_table;
}
table const& exec_create() noexcept {
    return exec_create_table;
}
table const& volume_create() noexcept {
    return volume_create_table;
}
table const& network_create() noexcept {
    return network_create_table;
}
table const& network_connect() noexcept {
    return network_connect_table;
}
table const& service_spec() noexcept {
    return service_spec_table;
}
table const& plugin_privilege() noexcept {
    return plugin_privilege_table;
}
table const& secret_create() noexcept {
    return secret_create_table;
}

field const* find(table const& t, std::string_view key) noexcept {
    for (auto const part : {t.fields, t.more}) {
        for (auto const& f : part) {
            if (fold_equal(f.name, key))
                return &f;
        }
    }
    return nullptr;
}

bool is_zero(json_value const& v) noexcept {
    switch (v.kind) {
    case json_kind::null:
        return true;
    case json_kind::boolean:
        return !v.boolean;
    case json_kind::number:
        return zero_number(v.text);
    case json_kind::string:
        return v.text.empty();
    case json_kind::array:
        return v.items.empty();
    case json_kind::object:
        return v.members.empty();
    }
    return false;
}

std::optional<unjudged> first_unjudged(json_value const& body, table const& t,
                                       std::string const& path, rule_applies const& applies) {
    return walk(body, t, path, applies);
}

} // namespace dockgate::inspect::fields
