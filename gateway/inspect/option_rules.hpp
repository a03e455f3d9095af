#pragma once
// Option strings the daemon, runc or the kernel parse for themselves, judged as they parse them:
// security options, tmpfs and bind options, sysctls, log drivers and their options, rlimits,
// host ports and network options. Each judgement is an allowlist: a key or a form the gateway
// does not know is refused, because the daemon may act on it.
//
// Pure functions, no exceptions but std::bad_alloc. A refusal names the rule that refused
// (relative to the role, "containers.unconfined") and why.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/constraints.hpp"

namespace dockgate::inspect {

struct option_refusal {
    std::string_view rule; // "containers.unconfined"
    std::string why;       // "apparmor=unconfined removes the AppArmor profile"
};

/// One HostConfig.SecurityOpt entry, parsed like the daemon's parseSecurityOpt: the bare forms
/// "no-new-privileges", "disable" (SELinux off) and "writable-cgroups", else split at the first
/// '=' when there is one anywhere, else at the first ':' (the deprecated form, still honoured).
/// Values are compared exactly: runc passes them on unchanged and the kernel trims an AppArmor
/// profile name, so any whitespace or control character is refused.
std::optional<option_refusal> judge_security_opt(std::string_view opt,
                                                 config::container_constraints const& c);

/// A HostConfig.Tmpfs option string ("size=64m,noexec"). The daemon appends it after its
/// noexec,nosuid,nodev,rprivate defaults and the last word of each kind wins.
std::optional<option_refusal> judge_tmpfs_options(std::string_view options);

/// The option field of a HostConfig.Binds entry ("ro,z", "rshared").
std::optional<option_refusal> judge_bind_mode(std::string_view mode);

/// A sysctl name, for a role with sysctls = true: only what runc accepts as namespaced
/// (kernel IPC, fs.mqueue, net, kernel.domainname), after its '/' to '.' conversion.
std::optional<option_refusal> judge_sysctl(std::string_view name);

/// A log driver (LogConfig.Type, "" for the daemon's default) and its options.
std::optional<option_refusal>
judge_log_config(std::string_view driver,
                 std::vector<std::pair<std::string, std::string>> const& options,
                 config::container_constraints const& c);

/// An rlimit name (Ulimits[].Name), which the daemon upper-cases into RLIMIT_<NAME>.
std::optional<option_refusal> judge_ulimit(std::string_view name);

/// The lowest host port of a PortBindings HostPort ("8080", "8000-8010", "80/udp", "" for an
/// ephemeral port: nullopt); 0 for a value the daemon would not accept.
std::optional<unsigned> lowest_host_port(std::string_view host_port);

/// A StorageOpt key: only "size" (a quota) is known to the graph drivers.
std::optional<option_refusal> judge_storage_opt(std::string_view key);

/// A NetworkCreate Options key of a bridge (or overlay) network.
std::optional<option_refusal> judge_network_option(std::string_view key);

/// An EndpointSettings.DriverOpts entry (per-interface sysctls, interface name, MAC).
std::optional<option_refusal> judge_endpoint_option(std::string_view key, std::string_view value,
                                                    config::container_constraints const& c);

/// A health check interval in nanoseconds (Go's time.Duration as JSON).
std::optional<option_refusal> judge_health_interval(std::string_view nanoseconds);

/// A `platform` query parameter: the containerd specifier "os[(osversion)][/arch[/variant]]"
/// of create, pull and build, or (json_form) the OCI platform JSON object of load. The message
/// why it is not one the daemon would read; nullopt for a well-formed or empty value.
std::optional<std::string> platform_error(std::string_view value, bool json_form);

} // namespace dockgate::inspect
