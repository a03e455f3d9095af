#pragma once
// What a role may put into the bodies and parameters of requests that can reach the host
// (`[roles.NAME.containers]`, `.volumes`, `.images`, `.build` and `ownership`). Plain data,
// immutable once loaded; judged by gateway/inspect.
//
// A section that is absent from the config imposes nothing, so roles written before these
// sections existed keep their meaning. A section that is present is restrictive for every key
// it does not name (its defaults below deny), because an admin who opened the section asked for
// confinement and should not get a silent hole for a key they forgot.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dockgate::config {

// One entry of containers.seccomp_profiles.
struct seccomp_profile {
    std::string name; // "default" (the daemon's own profile), or the file as written
    std::string json; // the file's JSON text; "" for "default"
};

// [roles.NAME.containers]: ContainerCreate, ContainerUpdate, ContainerExec, ServiceCreate/Update
// task specs, plugin privileges. A `true` bool means "allowed".
struct container_constraints {
    bool privileged = false;
    std::vector<std::string> cap_add;      // "CAP_NET_BIND_SERVICE": upper case, CAP_ prefixed
    std::vector<std::string> bind_sources; // absolute and clean ("/srv/data"); subpaths allowed
    bool host_namespaces = false;          // network/pid/ipc/uts/userns/cgroupns "host"
    bool cgroup_parent = false;
    bool devices = false; // Devices, DeviceRequests, DeviceCgroupRules
    bool unconfined =
        false; // seccomp/apparmor/label/systempaths loosened, masked paths, annotations
    bool run_as_non_root = false;
    bool sysctls = false;
    std::vector<std::string> runtimes{"runc"};    // the daemon's default ("") is always allowed
    std::vector<std::string> inject_security_opt; // appended to HostConfig.SecurityOpt on create
    bool cap_drop_all = false;                    // CapDrop = ["ALL"] on create
    // Log drivers a container may name ("" is the daemon's default); drivers that send logs
    // over the network need `unconfined` as well.
    std::vector<std::string> log_drivers{"json-file", "local"};
    std::vector<std::string> apparmor_profiles{"docker-default"}; // besides the default ("")
    std::vector<seccomp_profile> seccomp_profiles{{"default", ""}};
    bool privileged_ports = false; // publishing host ports below 1024
};

// [roles.NAME.volumes]: VolumeCreate, and volume mounts that carry driver options.
struct volume_constraints {
    bool driver_opts = false;
    std::vector<std::string> drivers{"local"}; // volume drivers ("" is the daemon's "local")
};

// One entry of images.registries: a registry host ("registry.example.com:5000") and an optional
// repository path prefix matched by whole components ("library" matches "library/ubuntu",
// never "libraryX/ubuntu").
struct registry_scope {
    std::string domain; // lower case; "docker.io" for Docker Hub (index.docker.io folded in)
    std::string path;   // "" = the whole registry
    std::string text;   // as written in the config, for messages
};

// [roles.NAME.images]: ImageCreate (pull), ContainerCreate's image, image mounts, service and
// plugin images.
struct image_constraints {
    std::optional<std::vector<registry_scope>> registries; // absent: any registry
    bool require_digest = false;
    // Under `registries`: a local image (import, load, commit, tag, build -t) may take a
    // trusted registry's name without coming from that registry.
    bool local_names = false;
};

// [roles.NAME.build]: ImageBuild query parameters.
struct build_constraints {
    bool network_host = false;
    bool remote_context = false; // a context the daemon fetches itself (git or http URL)
};

struct role_constraints {
    std::optional<container_constraints> containers;
    std::optional<volume_constraints> volumes;
    std::optional<image_constraints> images;
    std::optional<build_constraints> build;
    bool ownership = false; // objects get dockgate.owner=<user>; others' objects are invisible

    // True when no section and no ownership is set: requests are judged only by allow/deny.
    bool empty() const noexcept {
        return !containers && !volumes && !images && !build && !ownership;
    }

    /// The volume drivers a request may name: volumes.drivers, or its default ["local"] when
    /// only [containers] is present; nullptr when neither section is (no constraint).
    std::vector<std::string> const* volume_drivers() const noexcept;
};

/// The Linux capability names without the CAP_ prefix ("CHOWN", ..., "CHECKPOINT_RESTORE"), as
/// the daemon's capability list knows them.
std::span<std::string_view const> linux_capabilities() noexcept;

/// Splits "registry.example.com:5000/team" into a registry_scope. Returns nullopt and sets
/// `why` (a sentence with the fix) when the text is not a registry host with an optional
/// lower-case repository path.
std::optional<registry_scope> parse_registry_scope(std::string_view text, std::string& why);

/// A registry host as image references name it: DNS labels or a bracketed IPv6 address, with an
/// optional ":PORT" ("registry.example.com:5000", "localhost", "[::1]:5000").
bool valid_registry_host(std::string_view host);

/// A repository path component: [a-z0-9]+ joined by '.', '_', "__" or runs of '-'.
bool valid_repository_component(std::string_view component);

/// A plugin name as the daemon's plugin store and legacy plugin discovery read it (a volume,
/// log or network driver): a distribution reference path with an optional tag, which cannot
/// name a folder outside the plugin folders ("../x", "/x", "a//b" are refused).
bool valid_plugin_name(std::string_view name);

/// Go's path.Clean, which the daemon applies to bind sources: "/srv/data/../../etc" is "/etc",
/// "//srv/./data/" is "/srv/data", "" is ".".
std::string clean_path(std::string_view path);

/// True when the clean absolute `path` is `root` or lies below it, by whole components:
/// "/srv/data/x" is within "/srv/data", "/srv/database" is not; everything is within "/".
bool path_within(std::string_view path, std::string_view root) noexcept;

} // namespace dockgate::config
