#pragma once
// How the daemon reads the host-facing strings of a container spec, reproduced so that the
// policy judges a value the way the daemon will act on it: bind specs, capability names, user
// specs and namespace modes (option strings are in option_rules.hpp). Pure functions, no exceptions
// but std::bad_alloc.

#include <optional>
#include <string>
#include <string_view>

namespace dockgate::inspect {

/// One HostConfig.Binds entry, split like the daemon's Linux mount parser (SplitN(raw, ":", 4)).
struct bind_spec {
    std::string source;     // "" for an anonymous volume ("/data")
    bool host_path = false; // source is absolute: a bind of the host path clean_path(source)
    std::string mode;       // the options field ("ro,z"), "" when absent
};

/// nullopt when the daemon refuses the spec (empty source, more than three fields).
std::optional<bind_spec> parse_bind(std::string_view raw);

/// The daemon's capability normalisation (NormalizeLegacyCapabilities): Unicode upper case,
/// "CAP_" prefixed, "ALL" kept as is. nullopt for a name the daemon does not know.
std::optional<std::string> normalize_capability(std::string_view name);

/// A user spec ("uid[:gid]" or names) judged for run_as_non_root.
enum class user_class {
    empty,       // "": the image's (or, for exec, the container's) configured user applies
    non_root,    // numeric uid and gid, both non-zero
    root,        // uid or gid 0 by number or as "root"
    unverifiable // a name, or no group: only the image's /etc/passwd and /etc/group could tell
};
struct user_judgement {
    user_class verdict = user_class::empty;
    std::string why; // for root/unverifiable, a short reason for the denial message
};
user_judgement judge_user(std::string_view user);

/// One HostConfig.GroupAdd entry: non-root only when numeric and non-zero.
user_judgement judge_group(std::string_view group);

/// Namespace and cgroup modes of HostConfig. `kind` names the field's rules.
enum class namespace_field { network, pid, ipc, uts, userns, cgroupns, cgroup };
enum class mode_class {
    isolated,  // the container gets its own (or none): "", "private", "none", "bridge", ...
    host,      // "host"
    container, // "container:<name or id>": shares another container's namespace
    network,   // NetworkMode naming a network: the daemon resolves it by name or id prefix
    invalid    // a value the daemon refuses
};
struct mode_judgement {
    mode_class verdict = mode_class::isolated;
    std::string subject; // the container or network named
};
mode_judgement classify_mode(namespace_field field, std::string_view value);

} // namespace dockgate::inspect
