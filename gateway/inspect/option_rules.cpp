#include "gateway/inspect/option_rules.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "gateway/inspect/go_fold.hpp"
#include "gateway/inspect/json.hpp"

namespace dockgate::inspect {

namespace {

template <class List>
bool contains(List const& list, std::string_view s) {
    return std::find(std::begin(list), std::end(list), s) != std::end(list);
}

bool has_space_or_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

// strconv.ParseBool: nullopt for anything it refuses.
std::optional<bool> go_parse_bool(std::string_view v) {
    if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True")
        return true;
    if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False")
        return false;
    return std::nullopt;
}

option_refusal refuse(std::string_view rule, std::string why) {
    return {rule, std::move(why)};
}

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s.substr(0, 80))
        out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    if (s.size() > 80)
        out += "...";
    out += '"';
    return out;
}

// SELinux MCS level "s0" or "s0:c1,c2": one sensitivity and single categories. A range
// ("s0-s0:c0.c1023", "c0.c5") can cover other containers' categories.
bool single_level(std::string_view level) {
    auto const colon = level.find(':');
    auto const sensitivity = level.substr(0, colon);
    auto const digits = [](std::string_view s) {
        return !s.empty() &&
               std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (sensitivity.size() < 2 || sensitivity.front() != 's' || !digits(sensitivity.substr(1)))
        return false;
    if (colon == std::string_view::npos)
        return true;
    std::string_view rest = level.substr(colon + 1);
    while (true) {
        auto const comma = rest.find(',');
        auto const category = rest.substr(0, comma);
        if (category.size() < 2 || category.front() != 'c' || !digits(category.substr(1)))
            return false;
        if (comma == std::string_view::npos)
            return true;
        rest = rest.substr(comma + 1);
    }
}

std::optional<option_refusal> judge_label(std::string_view value) {
    constexpr std::string_view rule = "containers.unconfined";
    if (value == "disable")
        return refuse(rule, "label=disable turns off SELinux labelling");
    auto const colon = value.find(':');
    if (colon == std::string_view::npos)
        return refuse(rule, "not a SELinux label option (label=KEY:VALUE)");
    auto const key = value.substr(0, colon);
    auto const v = value.substr(colon + 1);
    if (key == "level") {
        if (single_level(v))
            return std::nullopt;
        return refuse(rule, "a SELinux level range can cover other containers' categories");
    }
    if (key == "type" || key == "filetype") {
        static constexpr std::string_view types[] = {"container_t", "container_init_t",
                                                     "container_file_t"};
        if (contains(types, v) && (key == "filetype") == (v == "container_file_t"))
            return std::nullopt;
        return refuse(rule, "label=" + std::string(key) + ":" + std::string(v).substr(0, 80) +
                                " runs outside the container SELinux type");
    }
    if (key == "user" || key == "role")
        return refuse(rule, "label=" + std::string(key) +
                                " gives the container another SELinux identity");
    return refuse(rule, "not a SELinux label option the gateway knows");
}

std::optional<option_refusal> judge_seccomp(std::string_view value,
                                            config::container_constraints const& c) {
    constexpr std::string_view rule = "containers.seccomp_profiles";
    if (value.empty())
        return std::nullopt; // the daemon's own profile
    if (value == "unconfined")
        return refuse("containers.unconfined", "seccomp=unconfined disables the syscall filter");
    if (value.front() == '{') {
        auto parsed = parse_json(value);
        if (auto const* v = std::get_if<json_value>(&parsed)) {
            auto const text = write_json(*v);
            for (auto const& p : c.seccomp_profiles) {
                if (p.json.empty())
                    continue;
                auto allowed = parse_json(p.json);
                if (auto const* a = std::get_if<json_value>(&allowed); a && write_json(*a) == text)
                    return std::nullopt;
            }
        }
        return refuse(rule, "a seccomp profile that is not one of containers.seccomp_profiles "
                            "can allow any syscall");
    }
    // "builtin" (23.0+) is the built-in profile even where the daemon runs a stricter one;
    // anything else is not a profile the daemon can load.
    return refuse(rule, "seccomp=" + std::string(value).substr(0, 80) +
                            " is not the daemon's profile nor one of containers.seccomp_profiles");
}

} // namespace

std::optional<option_refusal> judge_security_opt(std::string_view opt,
                                                 config::container_constraints const& c) {
    if (c.unconfined)
        return std::nullopt;
    constexpr std::string_view unconfined = "containers.unconfined";
    if (has_space_or_control(opt))
        return refuse(unconfined, "whitespace or control characters in a security option "
                                  "(the kernel trims them from a profile name)");
    if (opt == "no-new-privileges")
        return std::nullopt;
    if (opt == "disable")
        return refuse(unconfined, "\"disable\" turns off SELinux labelling");
    if (opt == "writable-cgroups")
        return refuse(unconfined, "writable-cgroups lets the container write the cgroup tree");
    auto sep = opt.find('=');
    if (sep == std::string_view::npos)
        sep = opt.find(':');
    if (sep == std::string_view::npos)
        return refuse(unconfined, "not a security option the daemon accepts");
    auto const key = opt.substr(0, sep);
    auto const value = opt.substr(sep + 1);
    if (key == "no-new-privileges") {
        auto const on = go_parse_bool(value);
        if (on && *on)
            return std::nullopt;
        return refuse(unconfined, "no-new-privileges=" + std::string(value).substr(0, 20) +
                                      " would let processes gain privileges (setuid binaries)");
    }
    if (key == "writable-cgroups") {
        auto const on = go_parse_bool(value);
        if (on && !*on)
            return std::nullopt;
        return refuse(unconfined, "writable-cgroups lets the container write the cgroup tree");
    }
    if (key == "apparmor") {
        if (value.empty() || contains(c.apparmor_profiles, value))
            return std::nullopt;
        if (std::string_view("unconfined").starts_with(value))
            return refuse(unconfined, "apparmor=" + std::string(value) +
                                          " removes the AppArmor profile (the kernel reads any "
                                          "prefix of \"unconfined\" as unconfined)");
        return refuse("containers.apparmor_profiles",
                      "AppArmor profile " + quoted(value) +
                          " is not in containers.apparmor_profiles");
    }
    if (key == "seccomp")
        return judge_seccomp(value, c);
    if (key == "label")
        return judge_label(value);
    if (key == "systempaths")
        return refuse(unconfined, "systempaths=unconfined unmasks /proc and /sys paths");
    return refuse(unconfined, "unknown security option " + quoted(key));
}

std::optional<option_refusal> judge_tmpfs_options(std::string_view options) {
    // Words the daemon's MergeTmpfsOptions knows that keep the defaults' confinement.
    static constexpr std::string_view flags[] = {
        "defaults", "ro",         "rw",       "noexec",     "exec",        "nosuid",
        "nodev",    "sync",       "async",    "dirsync",    "atime",       "noatime",
        "diratime", "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime"};
    static constexpr std::string_view data_keys[] = {"size", "mode",      "uid",
                                                     "gid",  "nr_inodes", "nr_blocks"};
    if (options.empty())
        return std::nullopt;
    std::string_view rest = options;
    while (true) {
        auto const comma = rest.find(',');
        auto const item = rest.substr(0, comma);
        auto const eq = item.find('=');
        if (eq != std::string_view::npos) {
            if (!contains(data_keys, item.substr(0, eq)))
                return refuse("containers",
                              "tmpfs option " + quoted(item) + " is not one the gateway knows");
        } else if (item == "private" || item == "rprivate") {
            // the default's propagation, spelled out
        } else if (item == "suid" || item == "dev") {
            return refuse("containers.unconfined",
                          "tmpfs option \"" + std::string(item) +
                              "\" allows setuid files or device nodes on the mount");
        } else if (item == "bind" || item == "rbind" ||
                   item.find("shared") != std::string_view::npos ||
                   item.find("slave") != std::string_view::npos ||
                   item.find("private") != std::string_view::npos ||
                   item.find("unbindable") != std::string_view::npos) {
            return refuse("containers.bind_sources",
                          "tmpfs option \"" + std::string(item) +
                              "\" turns the tmpfs into a bind or changes mount propagation");
        } else if (!contains(flags, item)) {
            return refuse("containers",
                          "tmpfs option " + quoted(item) + " is not one the gateway knows");
        }
        if (comma == std::string_view::npos)
            return std::nullopt;
        rest = rest.substr(comma + 1);
    }
}

std::optional<option_refusal> judge_bind_mode(std::string_view mode) {
    static constexpr std::string_view harmless[] = {"ro",     "rw",        "nocopy",  "consistent",
                                                    "cached", "delegated", "private", "rprivate",
                                                    "slave",  "rslave"};
    std::string_view rest = mode;
    while (!rest.empty()) {
        auto const comma = rest.find(',');
        auto const item = rest.substr(0, comma);
        if (item == "z" || item == "Z")
            return refuse("containers.bind_sources", "bind option \"" + std::string(item) +
                                                         "\" relabels the host path for SELinux");
        if (item == "shared" || item == "rshared")
            return refuse("containers.bind_sources",
                          "bind option \"" + std::string(item) +
                              "\" propagates the container's mounts into the host");
        if (!contains(harmless, item))
            return refuse("containers.bind_sources",
                          "bind option " + quoted(item) + " is not one the gateway knows");
        if (comma == std::string_view::npos)
            break;
        rest = rest.substr(comma + 1);
    }
    return std::nullopt;
}

std::optional<option_refusal> judge_sysctl(std::string_view name) {
    // runc's convertSysctlVariableToDotsSeparator: when the first separator is '/', '.' and
    // '/' swap places.
    std::string key(name);
    if (auto const first = key.find_first_of("./");
        first != std::string::npos && key[first] == '/') {
        for (auto& ch : key)
            ch = ch == '/' ? '.' : ch == '.' ? '/' : ch;
    }
    static constexpr std::string_view ipc[] = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    bool const known = contains(ipc, key) || key.starts_with("fs.mqueue.") ||
                       key.starts_with("net.") || key == "kernel.domainname";
    bool const clean = !has_space_or_control(key) && key.find('/') == std::string::npos &&
                       key.find("..") == std::string::npos && !key.ends_with(".");
    if (known && clean)
        return std::nullopt;
    return refuse("containers.sysctls",
                  "sysctl " + quoted(name) + " is not one a container's own namespaces hold");
}

namespace {

struct log_driver {
    std::string_view name;
    bool network; // sends logs over the network from the host
    std::span<std::string_view const> keys;
};

constexpr std::string_view common_keys[] = {"labels", "labels-regex", "env", "env-regex", "tag"};
constexpr std::string_view file_keys[] = {"max-file", "max-size", "compress"};
constexpr std::string_view syslog_keys[] = {
    "syslog-address", "syslog-facility",        "syslog-tls-ca-cert", "syslog-tls-cert",
    "syslog-tls-key", "syslog-tls-skip-verify", "syslog-format"};
constexpr std::string_view gelf_keys[] = {"gelf-address", "gelf-compression-level",
                                          "gelf-compression-type", "gelf-tcp-max-reconnect",
                                          "gelf-tcp-reconnect-delay"};
constexpr std::string_view fluentd_keys[] = {"fluentd-address",
                                             "fluentd-async",
                                             "fluentd-async-connect",
                                             "fluentd-buffer-limit",
                                             "fluentd-max-retries",
                                             "fluentd-request-ack",
                                             "fluentd-retry-wait",
                                             "fluentd-sub-second-precision",
                                             "fluentd-async-reconnect-interval",
                                             "fluentd-write-timeout",
                                             "fluentd-read-timeout"};
constexpr std::string_view awslogs_keys[] = {"awslogs-region",
                                             "awslogs-endpoint",
                                             "awslogs-group",
                                             "awslogs-stream",
                                             "awslogs-create-group",
                                             "awslogs-create-stream",
                                             "awslogs-datetime-format",
                                             "awslogs-multiline-pattern",
                                             "awslogs-credentials-endpoint",
                                             "awslogs-force-flush-interval-seconds",
                                             "awslogs-max-buffered-events",
                                             "awslogs-format"};
constexpr std::string_view splunk_keys[] = {"splunk-url",
                                            "splunk-token",
                                            "splunk-source",
                                            "splunk-sourcetype",
                                            "splunk-index",
                                            "splunk-capath",
                                            "splunk-caname",
                                            "splunk-insecureskipverify",
                                            "splunk-format",
                                            "splunk-verify-connection",
                                            "splunk-gzip",
                                            "splunk-gzip-level",
                                            "splunk-index-acknowledgment"};
constexpr std::string_view gcplogs_keys[] = {"gcp-project", "gcp-log-cmd", "gcp-meta-zone",
                                             "gcp-meta-name", "gcp-meta-id"};
constexpr std::string_view logentries_keys[] = {"logentries-token", "line-only"};

// The built-in drivers of Linux daemons (logentries until 24.x).
constexpr std::array<log_driver, 10> log_drivers{{
    {"json-file", false, file_keys},
    {"local", false, file_keys},
    {"journald", false, {}},
    {"none", false, {}},
    {"syslog", true, syslog_keys},
    {"gelf", true, gelf_keys},
    {"fluentd", true, fluentd_keys},
    {"awslogs", true, awslogs_keys},
    {"splunk", true, splunk_keys},
    {"gcplogs", true, gcplogs_keys},
}};
constexpr log_driver logentries{"logentries", true, logentries_keys};

// Options every driver takes (the daemon removes them before the driver's own validation):
// the delivery mode and the local read cache.
constexpr std::string_view delivery_keys[] = {"mode",           "max-buffer-size",
                                              "cache-disabled", "cache-max-size",
                                              "cache-max-file", "cache-compress"};

} // namespace

std::optional<option_refusal>
judge_log_config(std::string_view driver,
                 std::vector<std::pair<std::string, std::string>> const& options,
                 config::container_constraints const& c) {
    constexpr std::string_view rule = "containers.log_drivers";
    log_driver const* known = nullptr;
    for (auto const& d : log_drivers) {
        if (d.name == driver)
            known = &d;
    }
    if (driver == logentries.name)
        known = &logentries;
    if (!driver.empty() && !contains(c.log_drivers, driver)) {
        if (!config::valid_plugin_name(driver))
            return refuse(rule, "log driver " + quoted(driver) +
                                    " is not a plugin name (the daemon would look it up on disk)");
        return refuse(rule, "log driver " + quoted(driver) + " is not in containers.log_drivers");
    }
    if (known != nullptr && known->network && !c.unconfined)
        return refuse("containers.unconfined",
                      "log driver " + quoted(driver) +
                          " sends the container's output over the network from the host");
    for (auto const& [key, value] : options) {
        if (contains(delivery_keys, key))
            continue;
        if (driver.empty()) {
            // The daemon's default driver, whatever it is, with the caller's options over its
            // own: only options that cannot redirect where logs go.
            if (contains(common_keys, key) || contains(file_keys, key))
                continue;
            return refuse(rule, "log option " + quoted(key) +
                                    " for the daemon's default log driver is not one the gateway "
                                    "judges (name the driver)");
        }
        if (known == nullptr) {
            if (c.unconfined)
                continue;
            return refuse("containers.unconfined",
                          "log plugin " + quoted(driver) + " options are not judged");
        }
        if (known->name == "none")
            return refuse(rule, "the none log driver takes no options");
        bool const gcp_no_tag = known->name == "gcplogs" && key == "tag";
        if ((contains(common_keys, key) && !gcp_no_tag) || contains(known->keys, key))
            continue;
        return refuse(rule, "log option " + quoted(key) + " is not one the " +
                                std::string(known->name) + " driver takes");
    }
    return std::nullopt;
}

std::optional<option_refusal> judge_ulimit(std::string_view name) {
    auto const upper = fold_key(name);
    static constexpr std::string_view allowed[] = {"CORE",  "CPU",        "DATA",   "FSIZE",
                                                   "LOCKS", "MSGQUEUE",   "NOFILE", "NPROC",
                                                   "RSS",   "SIGPENDING", "STACK"};
    if (contains(allowed, upper))
        return std::nullopt;
    if (upper == "RTPRIO" || upper == "RTTIME" || upper == "NICE")
        return refuse("containers", "rlimit " + quoted(name) +
                                        " lets the container raise its scheduling priority over "
                                        "the host's processes");
    if (upper == "MEMLOCK")
        return refuse("containers", "rlimit \"memlock\" lets the container pin the host's memory");
    return refuse("containers", "rlimit " + quoted(name) + " is not one the gateway knows");
}

std::optional<unsigned> lowest_host_port(std::string_view host_port) {
    if (host_port.empty())
        return std::nullopt;
    host_port = host_port.substr(0, host_port.find('/')); // "80/udp": the protocol is ignored
    auto const dash = host_port.find('-');
    auto const first = host_port.substr(0, dash);
    unsigned port = 0;
    auto const [end, ec] = std::from_chars(first.data(), first.data() + first.size(), port);
    if (ec != std::errc() || end != first.data() + first.size() || port > 65535)
        return 0u;
    if (dash != std::string_view::npos) {
        auto const last = host_port.substr(dash + 1);
        unsigned upper = 0;
        auto const [e2, ec2] = std::from_chars(last.data(), last.data() + last.size(), upper);
        if (ec2 != std::errc() || e2 != last.data() + last.size() || upper > 65535 || upper < port)
            return 0u;
    }
    return port;
}

std::optional<option_refusal> judge_storage_opt(std::string_view key) {
    if (fold_key(key) == "SIZE")
        return std::nullopt;
    return refuse("containers",
                  "storage option " + quoted(key) + " is not one the gateway knows (only size)");
}

std::optional<option_refusal> judge_network_option(std::string_view key) {
    static constexpr std::string_view allowed[] = {
        "com.docker.network.driver.mtu",
        "com.docker.network.bridge.enable_icc",
        "com.docker.network.bridge.enable_ip_masquerade",
        "com.docker.network.enable_ipv6",
        "com.docker.network.enable_ipv4",
        "com.docker.network.container_iface_prefix",
        "encrypted", // overlay
    };
    if (contains(allowed, key))
        return std::nullopt;
    return refuse("containers.host_namespaces",
                  "network option " + quoted(key) +
                      " is not one the gateway judges (it may configure the host's interfaces, "
                      "addresses or routing)");
}

std::optional<option_refusal> judge_endpoint_option(std::string_view key, std::string_view value,
                                                    config::container_constraints const& c) {
    if (key == "com.docker.network.endpoint.ifname" ||
        key == "com.docker.network.endpoint.macaddress")
        return std::nullopt;
    if (key != "com.docker.network.endpoint.sysctls")
        return refuse("containers.host_namespaces",
                      "endpoint option " + quoted(key) + " is not one the gateway judges");
    if (!c.sysctls)
        return refuse("containers.sysctls", "endpoint sysctls " + quoted(value));
    // "net.ipv4.conf.IFNAME.forwarding=1,...": the daemon writes them into the container's
    // network namespace, under /proc/sys/net/...
    std::string_view rest = value;
    while (!rest.empty()) {
        auto const comma = rest.find(',');
        auto const item = rest.substr(0, comma);
        auto const name = item.substr(0, item.find('='));
        if (!name.starts_with("net.") || name.find("IFNAME") == std::string_view::npos ||
            has_space_or_control(name) || name.find('/') != std::string_view::npos)
            return refuse("containers.sysctls",
                          "endpoint sysctl " + quoted(item) + " is not a net.*.IFNAME.* sysctl");
        if (comma == std::string_view::npos)
            break;
        rest = rest.substr(comma + 1);
    }
    return std::nullopt;
}

std::optional<option_refusal> judge_health_interval(std::string_view nanoseconds) {
    // A JSON integer; anything else is the daemon's error to give.
    long long ns = 0;
    auto const [end, ec] =
        std::from_chars(nanoseconds.data(), nanoseconds.data() + nanoseconds.size(), ns);
    if (ec != std::errc() || end != nanoseconds.data() + nanoseconds.size() || ns <= 0)
        return std::nullopt;
    if (ns < 1'000'000'000)
        return refuse("containers",
                      "a health check more often than once a second makes the daemon start a "
                      "process on the host at that rate");
    return std::nullopt;
}

namespace {

// containerd's specifier characters; an OS version may also hold dots (and be empty).
bool specifier_chars(std::string_view part, bool dots) {
    return std::all_of(part.begin(), part.end(), [dots](unsigned char c) {
        return std::isalnum(c) != 0 || c == '_' || c == '-' || (dots && c == '.');
    });
}

} // namespace

std::optional<std::string> platform_error(std::string_view value, bool json_form) {
    if (value.empty())
        return std::nullopt;
    if (json_form) {
        static constexpr std::string_view keys[] = {"architecture", "os", "os.version",
                                                    "os.features", "variant"};
        auto parsed = parse_json(value);
        auto const* root = std::get_if<json_value>(&parsed);
        if (root == nullptr || !root->is_object())
            return "not an OCI platform JSON object";
        for (auto const& m : root->members) {
            if (!contains(keys, m.key))
                return "platform field " + quoted(m.key) + " is not one the gateway knows";
        }
        return std::nullopt;
    }
    // os, os(osversion), os/arch, os/arch/variant; each part [A-Za-z0-9_-]+.
    std::string_view rest = value;
    for (int part = 0; part < 3; ++part) {
        auto const slash = rest.find('/');
        auto item = rest.substr(0, slash);
        if (part == 0 && item.ends_with(')')) {
            auto const open = item.find('(');
            if (open == std::string_view::npos ||
                !specifier_chars(item.substr(open + 1, item.size() - open - 2), true))
                return "not a platform (os[/arch[/variant]])";
            item = item.substr(0, open);
        }
        if (item.empty() || !specifier_chars(item, false))
            return "not a platform (os[/arch[/variant]])";
        if (slash == std::string_view::npos)
            return std::nullopt;
        rest = rest.substr(slash + 1);
    }
    return "not a platform (os[/arch[/variant]])";
}

} // namespace dockgate::inspect
