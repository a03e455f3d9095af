// Reads [roles.NAME.containers|volumes|images|build] and `ownership` (see constraints.hpp for
// the model). Every problem names its key path and the fix, like the rest of the loader.

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <toml++/toml.h>

#include "config/constraints.hpp"
#include "config/toml_reader.hpp"

namespace dockgate::config {

namespace {

// The kernel's list (include/uapi/linux/capability.h), which the daemon's list mirrors.
constexpr std::array<std::string_view, 41> capability_names = {"CHOWN",
                                                               "DAC_OVERRIDE",
                                                               "DAC_READ_SEARCH",
                                                               "FOWNER",
                                                               "FSETID",
                                                               "KILL",
                                                               "SETGID",
                                                               "SETUID",
                                                               "SETPCAP",
                                                               "LINUX_IMMUTABLE",
                                                               "NET_BIND_SERVICE",
                                                               "NET_BROADCAST",
                                                               "NET_ADMIN",
                                                               "NET_RAW",
                                                               "IPC_LOCK",
                                                               "IPC_OWNER",
                                                               "SYS_MODULE",
                                                               "SYS_RAWIO",
                                                               "SYS_CHROOT",
                                                               "SYS_PTRACE",
                                                               "SYS_PACCT",
                                                               "SYS_ADMIN",
                                                               "SYS_BOOT",
                                                               "SYS_NICE",
                                                               "SYS_RESOURCE",
                                                               "SYS_TIME",
                                                               "SYS_TTY_CONFIG",
                                                               "MKNOD",
                                                               "LEASE",
                                                               "AUDIT_WRITE",
                                                               "AUDIT_CONTROL",
                                                               "SETFCAP",
                                                               "MAC_OVERRIDE",
                                                               "MAC_ADMIN",
                                                               "SYSLOG",
                                                               "WAKE_ALARM",
                                                               "BLOCK_SUSPEND",
                                                               "AUDIT_READ",
                                                               "PERFMON",
                                                               "BPF",
                                                               "CHECKPOINT_RESTORE"};

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// A repository path component of the distribution reference grammar:
// [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
bool valid_path_component(std::string_view c) {
    if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back()))
        return false;
    for (std::size_t i = 0; i < c.size();) {
        if (is_lower_alnum(c[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < c.size() && !is_lower_alnum(c[j]))
            ++j;
        std::string_view const sep = c.substr(i, j - i);
        bool const dashes = std::all_of(sep.begin(), sep.end(), [](char x) { return x == '-'; });
        if (!(sep == "." || sep == "_" || sep == "__" || dashes))
            return false;
        i = j;
    }
    return true;
}

// host[:port] where host is DNS labels or a bracketed IPv6 address.
bool valid_domain(std::string_view d) {
    std::string_view host = d;
    if (!d.empty() && d.front() == '[') {
        auto const close = d.find(']');
        if (close == std::string_view::npos || close == 1)
            return false;
        auto const inner = d.substr(1, close - 1);
        if (!std::all_of(inner.begin(), inner.end(),
                         [](unsigned char c) { return std::isxdigit(c) || c == ':'; }))
            return false;
        host = {};
        d = d.substr(close + 1);
        if (!d.empty() && d.front() != ':')
            return false;
    } else {
        auto const colon = d.find(':');
        host = d.substr(0, colon);
        d = colon == std::string_view::npos ? std::string_view{} : d.substr(colon);
    }
    if (!d.empty()) { // ":port"
        auto const port = d.substr(1);
        if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) ||
            std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535)
            return false;
    }
    if (host.empty())
        return true; // the IPv6 case
    for (std::size_t start = 0; start <= host.size();) {
        auto const dot = host.find('.', start);
        auto const label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos
                                                                            : dot - start);
        if (label.empty() || label.front() == '-' || label.back() == '-' ||
            !std::all_of(label.begin(), label.end(),
                         [](unsigned char c) { return std::isalnum(c) || c == '-'; }))
            return false;
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    return true;
}

// "\"text\"" for messages; built by appending (GCC 12 warns falsely about prepending).
std::string quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    out += s;
    out += '"';
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return out;
}

} // namespace

std::span<std::string_view const> linux_capabilities() noexcept {
    return capability_names;
}

std::vector<std::string> const* role_constraints::volume_drivers() const noexcept {
    static std::vector<std::string> const local{"local"};
    if (volumes)
        return &volumes->drivers;
    return containers ? &local : nullptr;
}

bool valid_plugin_name(std::string_view name) {
    // [domain/]path[:tag] of the distribution reference grammar, lower case: what the plugin
    // store accepts for a managed plugin, and what keeps legacy discovery (which joins the name
    // onto its folders) inside those folders.
    if (name.empty() || name.size() > 255)
        return false;
    std::string_view path = name;
    if (auto const colon = name.rfind(':');
        colon != std::string_view::npos && name.find('/', colon) == std::string_view::npos) {
        auto const tag = name.substr(colon + 1);
        bool const tag_ok =
            !tag.empty() && tag.size() <= 128 &&
            (std::isalnum(static_cast<unsigned char>(tag.front())) || tag.front() == '_') &&
            std::all_of(tag.begin(), tag.end(), [](unsigned char c) {
                return std::isalnum(c) || c == '_' || c == '.' || c == '-';
            });
        if (!tag_ok)
            return false;
        path = name.substr(0, colon);
    }
    auto const slash = path.find('/');
    if (slash != std::string_view::npos) {
        auto const first = path.substr(0, slash);
        bool const host =
            first.find_first_of(".:") != std::string_view::npos || first == "localhost";
        if (host) {
            if (!valid_domain(first) || lower(first) != first)
                return false;
            path = path.substr(slash + 1);
        }
    }
    for (std::size_t start = 0;;) {
        auto const next = path.find('/', start);
        auto const component = path.substr(
            start, next == std::string_view::npos ? std::string_view::npos : next - start);
        if (!valid_path_component(component))
            return false;
        if (next == std::string_view::npos)
            return true;
        start = next + 1;
    }
}

bool valid_registry_host(std::string_view host) {
    return valid_domain(host);
}

bool valid_repository_component(std::string_view component) {
    return valid_path_component(component);
}

std::string clean_path(std::string_view p) {
    if (p.empty())
        return ".";
    bool const rooted = p.front() == '/';
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i < p.size()) {
        auto const slash = p.find('/', i);
        auto const part =
            p.substr(i, slash == std::string_view::npos ? std::string_view::npos : slash - i);
        i = slash == std::string_view::npos ? p.size() : slash + 1;
        if (part.empty() || part == ".")
            continue;
        if (part == "..") {
            if (!parts.empty() && parts.back() != "..")
                parts.pop_back();
            else if (!rooted)
                parts.push_back(part); // a relative path keeps leading ".."; a rooted one drops it
            continue;
        }
        parts.push_back(part);
    }
    std::string out = rooted ? "/" : "";
    for (std::size_t k = 0; k < parts.size(); ++k) {
        if (k > 0)
            out += '/';
        out += parts[k];
    }
    return out.empty() ? "." : out;
}

bool path_within(std::string_view path, std::string_view root) noexcept {
    if (root == "/")
        return !path.empty() && path.front() == '/';
    if (path.size() < root.size() || path.substr(0, root.size()) != root)
        return false;
    return path.size() == root.size() || path[root.size()] == '/';
}

std::optional<registry_scope> parse_registry_scope(std::string_view text, std::string& why) {
    if (text.empty()) {
        why = "empty (write a registry host such as \"registry.example.com\" or "
              "\"docker.io/library\")";
        return std::nullopt;
    }
    if (text.find("://") != std::string_view::npos) {
        why = quote(text) + " has a URL scheme (write the registry as images name it: "
                            "\"registry.example.com/team\")";
        return std::nullopt;
    }
    auto const slash = text.find('/');
    std::string_view const domain = text.substr(0, slash);
    std::string_view const path =
        slash == std::string_view::npos ? std::string_view{} : text.substr(slash + 1);
    bool const looks_like_host =
        domain.find_first_of(".:[") != std::string_view::npos || lower(domain) == "localhost";
    if (!looks_like_host) {
        why = quote(text) +
              " does not start with a registry host (Docker Hub's official images are "
              "\"docker.io/library\", "
              "a private registry is \"registry.example.com\")";
        return std::nullopt;
    }
    if (!valid_domain(domain)) {
        why = quote(domain) + " is not a registry host (write HOST or HOST:PORT)";
        return std::nullopt;
    }
    if (path.find_first_of(":@") != std::string_view::npos) {
        why = quote(text) + " names a tag or digest (an entry is a registry and repository prefix)";
        return std::nullopt;
    }
    if (slash != std::string_view::npos) {
        for (std::size_t start = 0; start <= path.size();) {
            auto const next = path.find('/', start);
            auto const component = path.substr(
                start, next == std::string_view::npos ? std::string_view::npos : next - start);
            if (!valid_path_component(component)) {
                why = quote(text) + ": \"" + std::string(component) +
                      "\" is not a repository path component (lower-case letters, digits and . _ - "
                      "between them)";
                return std::nullopt;
            }
            if (next == std::string_view::npos)
                break;
            start = next + 1;
        }
    }
    registry_scope scope;
    scope.domain = lower(domain);
    if (scope.domain == "index.docker.io")
        scope.domain = "docker.io";
    scope.path = std::string(path);
    scope.text = std::string(text);
    return scope;
}

namespace detail {

namespace {

std::optional<bool> boolean(reader& r, toml::table const& t, std::string const& path,
                            std::string_view key) {
    return r.boolean(t, path, key);
}

void read_flag(reader& r, toml::table const& t, std::string const& path, std::string_view key,
               bool& out) {
    if (auto v = boolean(r, t, path, key))
        out = *v;
}

std::string element_path(std::string const& path, std::string_view key, std::size_t i) {
    return reader::join_path(path, key) + "[" + std::to_string(i) + "]";
}

void read_capabilities(reader& r, toml::table const& t, std::string const& path,
                       std::vector<std::string>& out) {
    auto caps = r.strings(t, path, "cap_add");
    if (!caps)
        return;
    for (std::size_t i = 0; i < caps->size(); ++i) {
        auto const& [text, at] = (*caps)[i];
        std::string name;
        for (unsigned char c : text)
            name += static_cast<char>(std::toupper(c));
        if (name.rfind("CAP_", 0) == 0)
            name.erase(0, 4);
        if (name == "ALL") {
            r.problem(at, element_path(path, "cap_add", i),
                      "\"ALL\" is not allowed here (it grants every capability; list the ones the "
                      "role needs)");
            continue;
        }
        auto const names = linux_capabilities();
        if (std::find(names.begin(), names.end(), name) == names.end()) {
            std::string hint;
            std::size_t best = 4;
            for (auto candidate : names) {
                if (auto d = edit_distance(name, candidate); d < best) {
                    best = d;
                    hint = std::string(candidate);
                }
            }
            r.problem(at, element_path(path, "cap_add", i),
                      "unknown capability \"" + text + "\"" +
                          (hint.empty() ? " (use a Linux capability name such as "
                                          "\"NET_BIND_SERVICE\", see capabilities(7))"
                                        : " (did you mean \"" + hint + "\"?)"));
            continue;
        }
        out.push_back("CAP_" + name);
    }
}

void read_bind_sources(reader& r, toml::table const& t, std::string const& path,
                       std::vector<std::string>& out) {
    auto sources = r.strings(t, path, "bind_sources");
    if (!sources)
        return;
    for (std::size_t i = 0; i < sources->size(); ++i) {
        auto const& [text, at] = (*sources)[i];
        std::string const p = element_path(path, "bind_sources", i);
        if (text.empty() || text.front() != '/') {
            r.problem(
                at, p,
                "\"" + text +
                    "\" is not an absolute path (write it from the root, e.g. \"/srv/data\")");
            continue;
        }
        if (std::any_of(text.begin(), text.end(),
                        [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
            r.problem(at, p, "control character in path (remove it)");
            continue;
        }
        std::string const clean = clean_path(text);
        bool const dotdot = text.find("/../") != std::string::npos ||
                            (text.size() >= 3 && text.compare(text.size() - 3, 3, "/..") == 0);
        if (dotdot) {
            r.problem(at, p,
                      "\"" + text + "\" contains \"..\" (write the path it means: \"" + clean +
                          "\")");
            continue;
        }
        out.push_back(clean);
    }
}

// Options the gateway may add to every create; anything that loosens confinement is refused
// because it would silently undo the role's own checks.
std::string injected_option_problem(std::string const& opt) {
    if (opt == "no-new-privileges" || opt == "no-new-privileges=true" ||
        opt == "writable-cgroups=false")
        return "";
    auto const eq = opt.find('=');
    std::string const key = opt.substr(0, eq);
    std::string const value = eq == std::string::npos ? "" : opt.substr(eq + 1);
    if (eq != std::string::npos && !value.empty()) {
        if ((key == "apparmor" || key == "seccomp") && value != "unconfined")
            return "";
        if (key == "label" && value != "disable" && value.rfind("type:", 0) != 0)
            return "";
    }
    return "cannot inject \"" + opt +
           "\" (use \"no-new-privileges\", \"apparmor=PROFILE\", \"seccomp=PROFILE\" or "
           "\"label=level:...\"; "
           "options that loosen confinement are not allowed)";
}

// A list of plugin names (drivers); every problem named with its element's path.
std::optional<std::vector<std::string>>
read_driver_names(reader& r, toml::table const& t, std::string const& path, std::string_view key) {
    auto names = r.strings(t, path, key);
    if (!names)
        return std::nullopt;
    std::vector<std::string> out;
    for (std::size_t i = 0; i < names->size(); ++i) {
        auto const& [name, at] = (*names)[i];
        if (valid_plugin_name(name))
            out.push_back(name);
        else
            r.problem(at, element_path(path, key, i),
                      quote(name) +
                          " is not a driver name (lower-case letters, digits and . _ - in "
                          "components joined by '/', e.g. \"local\" or \"vieux/sshfs:latest\")");
    }
    return out;
}

void read_apparmor_profiles(reader& r, toml::table const& t, std::string const& path,
                            std::vector<std::string>& out) {
    auto names = r.strings(t, path, "apparmor_profiles");
    if (!names)
        return;
    out.clear();
    for (std::size_t i = 0; i < names->size(); ++i) {
        auto const& [name, at] = (*names)[i];
        std::string const p = element_path(path, "apparmor_profiles", i);
        bool const printable =
            !name.empty() && std::all_of(name.begin(), name.end(),
                                         [](unsigned char c) { return c > 0x20 && c < 0x7f; });
        if (!printable)
            r.problem(at, p,
                      quote(name) + " is not a profile name (no spaces or control characters)");
        else if (std::string_view("unconfined").starts_with(name))
            r.problem(at, p,
                      quote(name) +
                          " means no AppArmor profile to the kernel (set unconfined = true to "
                          "allow that)");
        else
            out.push_back(name);
    }
}

void read_seccomp_profiles(reader& r, toml::table const& t, std::string const& path,
                           std::vector<seccomp_profile>& out) {
    auto names = r.strings(t, path, "seccomp_profiles");
    if (!names)
        return;
    out.clear();
    for (std::size_t i = 0; i < names->size(); ++i) {
        auto const& [name, at] = (*names)[i];
        std::string const p = element_path(path, "seccomp_profiles", i);
        if (name == "default") {
            out.push_back({name, ""});
            continue;
        }
        if (name == "unconfined" || name == "builtin") {
            r.problem(at, p,
                      quote(name) + " is not a profile file (write \"default\" for the daemon's "
                                    "profile; unconfined = true allows seccomp=unconfined)");
            continue;
        }
        std::filesystem::path file(name);
        if (file.is_relative())
            file = r.base() / file;
        std::ifstream in(file, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        boost::system::error_code ec;
        auto const parsed = in ? boost::json::parse(text.str(), ec) : boost::json::value();
        if (!in || ec || !parsed.is_object()) {
            r.problem(at, p,
                      quote(name) + (in ? " is not a JSON seccomp profile (an object)"
                                        : " cannot be read (write \"default\" or the path of a "
                                          "seccomp profile file, relative to the config file)"));
            continue;
        }
        out.push_back({name, text.str()});
    }
}

void read_containers(reader& r, toml::table const& t, std::string const& path,
                     container_constraints& c) {
    r.only_keys(t, path,
                {"privileged", "cap_add", "bind_sources", "host_namespaces", "cgroup_parent",
                 "devices", "unconfined", "run_as_non_root", "sysctls", "runtimes",
                 "inject_security_opt", "cap_drop_all", "log_drivers", "apparmor_profiles",
                 "seccomp_profiles", "privileged_ports"});
    read_flag(r, t, path, "privileged_ports", c.privileged_ports);
    if (auto drivers = read_driver_names(r, t, path, "log_drivers"))
        c.log_drivers = std::move(*drivers);
    read_apparmor_profiles(r, t, path, c.apparmor_profiles);
    read_seccomp_profiles(r, t, path, c.seccomp_profiles);
    read_flag(r, t, path, "privileged", c.privileged);
    read_capabilities(r, t, path, c.cap_add);
    read_bind_sources(r, t, path, c.bind_sources);
    read_flag(r, t, path, "host_namespaces", c.host_namespaces);
    read_flag(r, t, path, "cgroup_parent", c.cgroup_parent);
    read_flag(r, t, path, "devices", c.devices);
    read_flag(r, t, path, "unconfined", c.unconfined);
    read_flag(r, t, path, "run_as_non_root", c.run_as_non_root);
    read_flag(r, t, path, "sysctls", c.sysctls);
    read_flag(r, t, path, "cap_drop_all", c.cap_drop_all);
    if (auto runtimes = r.strings(t, path, "runtimes")) {
        c.runtimes.clear();
        for (std::size_t i = 0; i < runtimes->size(); ++i) {
            auto const& [name, at] = (*runtimes)[i];
            bool const ok =
                !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char ch) {
                    return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
                });
            if (ok)
                c.runtimes.push_back(name);
            else
                r.problem(at, element_path(path, "runtimes", i),
                          "\"" + name +
                              "\" is not a runtime name (use the name from the daemon's runtimes, "
                              "e.g. \"runc\")");
        }
    }
    if (auto opts = r.strings(t, path, "inject_security_opt")) {
        for (std::size_t i = 0; i < opts->size(); ++i) {
            auto const& [opt, at] = (*opts)[i];
            if (auto why = injected_option_problem(opt); !why.empty())
                r.problem(at, element_path(path, "inject_security_opt", i), why);
            else
                c.inject_security_opt.push_back(opt);
        }
    }
}

void read_images(reader& r, toml::table const& t, std::string const& path, image_constraints& c) {
    r.only_keys(t, path, {"registries", "require_digest", "local_names"});
    read_flag(r, t, path, "require_digest", c.require_digest);
    read_flag(r, t, path, "local_names", c.local_names);
    auto entries = r.strings(t, path, "registries");
    if (!entries)
        return;
    c.registries.emplace();
    for (std::size_t i = 0; i < entries->size(); ++i) {
        auto const& [text, at] = (*entries)[i];
        std::string why;
        if (auto scope = parse_registry_scope(text, why))
            c.registries->push_back(std::move(*scope));
        else
            r.problem(at, element_path(path, "registries", i), why);
    }
}

} // namespace

// Called by read_roles for each [roles.NAME] table; `path` is "roles.NAME".
void read_role_constraints(reader& r, toml::table const& role_table, std::string const& path,
                           role_constraints& out) {
    read_flag(r, role_table, path, "ownership", out.ownership);
    if (auto const* t = r.table(role_table, path, "containers")) {
        out.containers.emplace();
        read_containers(r, *t, path + ".containers", *out.containers);
    }
    if (auto const* t = r.table(role_table, path, "volumes")) {
        std::string const p = path + ".volumes";
        r.only_keys(*t, p, {"driver_opts", "drivers"});
        out.volumes.emplace();
        read_flag(r, *t, p, "driver_opts", out.volumes->driver_opts);
        if (auto drivers = read_driver_names(r, *t, p, "drivers"))
            out.volumes->drivers = std::move(*drivers);
    }
    if (auto const* t = r.table(role_table, path, "images")) {
        out.images.emplace();
        read_images(r, *t, path + ".images", *out.images);
    }
    if (auto const* t = r.table(role_table, path, "build")) {
        std::string const p = path + ".build";
        r.only_keys(*t, p, {"network_host", "remote_context"});
        out.build.emplace();
        read_flag(r, *t, p, "network_host", out.build->network_host);
        read_flag(r, *t, p, "remote_context", out.build->remote_context);
    }
}

} // namespace detail

} // namespace dockgate::config
