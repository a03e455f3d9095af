#include <algorithm>
#include <cctype>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <thread>

#include <toml++/toml.h>

#include "common/engine_api/route_table.hpp"
#include "config/config.hpp"
#include "config/ssh_keys.hpp"
#include "config/toml_reader.hpp"

namespace dockgate::config {

namespace {

// A problem names keys and values as written (and a TOML syntax error quotes the text), and a
// quoted TOML key may hold any character: a control character is shown as TOML would escape it
// (\u000A), so that one problem stays one line of a terminal or log and a NUL does not cut
// what() short.
std::string escape_controls(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char const c : text) {
        auto const byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            out += "\\u00";
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        } else {
            out += c;
        }
    }
    return out;
}

std::vector<std::string> escaped(std::vector<std::string> problems) {
    for (auto& p : problems)
        p = escape_controls(p);
    return problems;
}

} // namespace

config_error::config_error(std::vector<std::string> problems)
    : std::runtime_error(problems.empty() ? "config: invalid" : escape_controls(problems.front()))
    , problems_(escaped(std::move(problems))) {}

namespace detail {
// role_constraints.cpp
void read_role_constraints(reader& r, toml::table const& role_table, std::string const& path,
                           role_constraints& out);
// audit_syslog.cpp
void read_audit_syslog(reader& r, toml::table const& gateway, gateway_section& out);

std::optional<std::pair<std::string, std::uint16_t>> split_address(std::string const& a) {
    auto const colon = a.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return std::nullopt;
    std::string host = a.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    auto const port_text = a.substr(colon + 1);
    if (port_text.empty() || port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(), ::isdigit))
        return std::nullopt;
    auto const port = std::stoul(port_text);
    if (port > 65535)
        return std::nullopt;
    return std::pair{host, static_cast<std::uint16_t>(port)};
}
} // namespace detail

namespace {

using namespace detail;

bool valid_name(std::string_view s) {
    return !s.empty() &&
           std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

void read_gateway(reader& r, toml::table const& root, config& cfg) {
    auto const* t = r.table(root, "", "gateway");
    if (t == nullptr) {
        if (root.get("gateway") == nullptr)
            r.problem(
                &root, "gateway",
                "missing section (add [gateway] with upstream = \"unix:///var/run/docker.sock\")");
        return;
    }
    r.only_keys(*t, "gateway",
                {"upstream", "audit_log", "audit_syslog", "audit_syslog_ca",
                 "audit_syslog_facility", "audit_syslog_queue", "workers", "log_level",
                 "shutdown_timeout", "user", "group", "seccomp", "landlock"});
    if (auto up = r.string(*t, "gateway", "upstream")) {
        constexpr std::string_view scheme = "unix://";
        if (up->rfind(scheme, 0) != 0 || up->size() <= scheme.size() || (*up)[scheme.size()] != '/')
            r.problem(t->get("upstream"), "gateway.upstream",
                      "\"" + *up +
                          "\" is not a unix socket URL (write unix:///var/run/docker.sock)");
        else
            cfg.gateway.upstream_socket = up->substr(scheme.size());
    } else if (t->get("upstream") == nullptr) {
        r.problem(t, "gateway.upstream",
                  "missing (the daemon's socket, e.g. \"unix:///var/run/docker.sock\")");
    }
    if (auto log = r.string(*t, "gateway", "audit_log")) {
        if (log->empty())
            r.problem(t->get("audit_log"), "gateway.audit_log",
                      "empty (write a file path, or \"-\" for stdout)");
        else if (*log == "-")
            cfg.gateway.audit_log = "-";
        else
            cfg.gateway.audit_log =
                std::filesystem::path(*log).is_relative() ? (r.base() / *log).string() : *log;
    }
    read_audit_syslog(r, *t, cfg.gateway);
    if (auto w = r.integer(*t, "gateway", "workers", 0, 256))
        cfg.gateway.workers = static_cast<unsigned>(*w);
    if (auto level = r.string(*t, "gateway", "log_level")) {
        static constexpr std::string_view levels[] = {"trace", "debug", "info", "warn", "error"};
        if (std::find(std::begin(levels), std::end(levels), *level) == std::end(levels))
            r.problem(t->get("log_level"), "gateway.log_level",
                      "unknown level \"" + *level + "\" (use trace, debug, info, warn or error)");
        else
            cfg.gateway.log_level = *level;
    }
    if (auto d = r.duration_value(*t, "gateway", "shutdown_timeout"))
        cfg.gateway.shutdown_timeout = *d;
    for (auto [key, out] : {std::pair{"user", &cfg.gateway.user}, {"group", &cfg.gateway.group}}) {
        if (auto name = r.string(*t, "gateway", key)) {
            if (!valid_name(*name) || name->find_first_of(" :/") != std::string::npos)
                r.problem(t->get(key), std::string("gateway.") + key,
                          "\"" + *name + "\" is not a " + key + " name (write e.g. \"dockgate\")");
            else
                *out = *name;
        }
    }
    if (!cfg.gateway.group.empty() && cfg.gateway.user.empty())
        r.problem(t->get("group"), "gateway.group",
                  "set without gateway.user (the gateway changes its group only when it drops "
                  "root; add user = \"dockgate\")");
    if (auto v = r.boolean(*t, "gateway", "seccomp"))
        cfg.gateway.seccomp = *v;
    if (auto v = r.boolean(*t, "gateway", "landlock"))
        cfg.gateway.landlock = *v;
}

void read_crl_sources(reader& r, toml::table const& t, tls_listener& tls) {
    if (auto urls = r.strings(t, "listen.tls", "crl_urls")) {
        for (std::size_t i = 0; i < urls->size(); ++i) {
            auto const& [text, node] = (*urls)[i];
            auto const key = "listen.tls.crl_urls[" + std::to_string(i) + "]";
            crl_url u;
            if (auto const why = parse_crl_url(text, u); !why.empty())
                r.problem(node, key, why);
            else if (std::any_of(tls.crl_urls.begin(), tls.crl_urls.end(),
                                 [&](crl_url const& o) { return o.url == u.url; }))
                r.problem(node, key, "\"" + text + "\" is listed twice (list each URL once)");
            else
                tls.crl_urls.push_back(std::move(u));
        }
    }
    if (auto d = r.duration_value(t, "listen.tls", "crl_refresh")) {
        if (*d < std::chrono::seconds(1))
            r.problem(t.get("crl_refresh"), "listen.tls.crl_refresh",
                      "shorter than 1s (write e.g. \"10m\")");
        else
            tls.crl_refresh = *d;
    }
    if (auto d = r.duration_value(t, "listen.tls", "crl_timeout"))
        tls.crl_timeout = *d;
    if (auto v = r.string(t, "listen.tls", "crl_stale")) {
        if (*v == "refuse" || *v == "allow")
            tls.crl_stale = *v == "refuse" ? crl_stale_policy::refuse : crl_stale_policy::allow;
        else
            r.problem(t.get("crl_stale"), "listen.tls.crl_stale",
                      "\"" + *v + "\" is not a policy (use \"refuse\" or \"allow\")");
    }
    if (tls.crl_urls.empty())
        for (char const* key : {"crl_refresh", "crl_timeout"})
            if (t.get(key) != nullptr)
                r.problem(t.get(key), std::string("listen.tls.") + key,
                          "set without listen.tls.crl_urls (add the URLs or remove the key)");
}

void read_tls(reader& r, toml::table const& t, config& cfg) {
    r.only_keys(t, "listen.tls",
                {"address", "ca", "cert", "key", "crl", "crl_urls", "crl_refresh", "crl_timeout",
                 "crl_stale", "identity", "groups"});
    tls_listener tls;
    read_crl_sources(r, t, tls);
    if (auto v = r.string(t, "listen.tls", "identity")) {
        static constexpr std::pair<std::string_view, tls_identity_field> fields[] = {
            {"cn", tls_identity_field::cn},
            {"uri_san", tls_identity_field::uri_san},
            {"dns_san", tls_identity_field::dns_san},
            {"email_san", tls_identity_field::email_san}};
        auto const it = std::find_if(std::begin(fields), std::end(fields),
                                     [&](auto const& f) { return f.first == *v; });
        if (it != std::end(fields))
            tls.identity = it->second;
        else
            r.problem(t.get("identity"), "listen.tls.identity",
                      "\"" + *v +
                          "\" is not a certificate field (use \"cn\", \"uri_san\", "
                          "\"dns_san\" or \"email_san\")");
    }
    if (auto v = r.string(t, "listen.tls", "groups")) {
        if (*v == "o" || *v == "ou")
            tls.groups = *v == "o" ? tls_group_field::o : tls_group_field::ou;
        else
            r.problem(t.get("groups"), "listen.tls.groups",
                      "\"" + *v + "\" is not a subject attribute for groups (use \"o\" or \"ou\")");
    }
    if (auto addr = r.string(t, "listen.tls", "address")) {
        if (auto hp = split_address(*addr)) {
            tls.address = *addr;
            tls.host = hp->first;
            tls.port = hp->second;
        } else {
            r.problem(t.get("address"), "listen.tls.address",
                      "\"" + *addr + "\" is not HOST:PORT (write e.g. \"0.0.0.0:2376\")");
        }
    } else if (t.get("address") == nullptr) {
        r.problem(&t, "listen.tls.address", "missing (write e.g. \"0.0.0.0:2376\")");
    }
    auto ca = r.file(t, "listen.tls", "ca", true);
    auto cert = r.file(t, "listen.tls", "cert", true);
    auto key = r.file(t, "listen.tls", "key", true);
    auto crl = r.file(t, "listen.tls", "crl", false);
    if (ca && cert && key && !tls.host.empty() && (crl || t.get("crl") == nullptr)) {
        tls.ca = *ca;
        tls.cert = *cert;
        tls.key = *key;
        tls.crl = crl;
        cfg.tls = std::move(tls);
    }
}

void read_unix(reader& r, toml::table const& t, config& cfg) {
    r.only_keys(t, "listen.unix", {"path", "mode", "group"});
    unix_listener u;
    if (auto path = r.string(t, "listen.unix", "path")) {
        std::filesystem::path p(*path);
        if (p.is_relative())
            p = r.base() / p;
        if (p.string().size() >= 108) // sizeof(sockaddr_un::sun_path)
            r.problem(t.get("path"), "listen.unix.path",
                      "too long for a unix socket (at most 107 bytes)");
        else
            u.path = p.lexically_normal();
    } else if (t.get("path") == nullptr) {
        r.problem(&t, "listen.unix.path", "missing (write e.g. \"/run/dockgate/docker.sock\")");
    }
    if (auto mode = r.string(t, "listen.unix", "mode")) {
        bool const octal =
            !mode->empty() && mode->size() <= 4 &&
            std::all_of(mode->begin(), mode->end(), [](char c) { return c >= '0' && c <= '7'; });
        if (!octal)
            r.problem(t.get("mode"), "listen.unix.mode",
                      "\"" + *mode + "\" is not an octal file mode (write e.g. \"0660\")");
        else if ((std::stoul(*mode, nullptr, 8) & 0002) != 0)
            r.problem(t.get("mode"), "listen.unix.mode",
                      "\"" + *mode +
                          "\" lets every local user connect (drop the world bits, e.g. \"0660\")");
        else
            u.mode = static_cast<unsigned>(std::stoul(*mode, nullptr, 8));
    }
    if (auto group = r.string(t, "listen.unix", "group")) {
        if (!valid_name(*group))
            r.problem(t.get("group"), "listen.unix.group",
                      "empty or control characters in group name");
        else
            u.group = *group;
    }
    if (!u.path.empty())
        cfg.unix_socket = std::move(u);
}

void read_ssh(reader& r, toml::table const& t, config& cfg) {
    r.only_keys(t, "listen.ssh",
                {"address", "host_key", "max_auth_tries", "max_sessions", "max_sessions_per_user",
                 "max_channels_per_connection", "max_handshakes_per_address"});
    ssh_listener ssh;
    if (auto addr = r.string(t, "listen.ssh", "address")) {
        if (auto hp = split_address(*addr)) {
            ssh.address = *addr;
            ssh.host = hp->first;
            ssh.port = hp->second;
        } else {
            r.problem(t.get("address"), "listen.ssh.address",
                      "\"" + *addr + "\" is not HOST:PORT (write e.g. \"0.0.0.0:2222\")");
        }
    } else if (t.get("address") == nullptr) {
        r.problem(&t, "listen.ssh.address", "missing (write e.g. \"0.0.0.0:2222\")");
    }
    if (auto key = r.string(t, "listen.ssh", "host_key")) {
        std::filesystem::path p(*key);
        ssh.host_key = (p.is_relative() ? r.base() / p : p).lexically_normal();
    } else if (t.get("host_key") == nullptr) {
        r.problem(&t, "listen.ssh.host_key",
                  "missing (a path; an ed25519 key is created there on first start)");
    }
    if (auto v = r.integer(t, "listen.ssh", "max_auth_tries", 1, 20))
        ssh.max_auth_tries = static_cast<unsigned>(*v);
    if (auto v = r.integer(t, "listen.ssh", "max_sessions", 1, 100000))
        ssh.max_sessions = static_cast<unsigned>(*v);
    if (auto v = r.integer(t, "listen.ssh", "max_sessions_per_user", 1, 100000))
        ssh.max_sessions_per_user = static_cast<unsigned>(*v);
    if (auto v = r.integer(t, "listen.ssh", "max_channels_per_connection", 1, 1000))
        ssh.max_channels_per_connection = static_cast<unsigned>(*v);
    if (auto v = r.integer(t, "listen.ssh", "max_handshakes_per_address", 1, 1000000))
        ssh.max_handshakes_per_address = static_cast<unsigned>(*v);
    if (!ssh.host.empty() && !ssh.host_key.empty())
        cfg.ssh = std::move(ssh);
}

void read_listen(reader& r, toml::table const& root, config& cfg) {
    constexpr char const* none = "no listener configured (add [listen.tls] with address, ca, cert "
                                 "and key, [listen.ssh] or [listen.unix])";
    auto const* listen = r.table(root, "", "listen");
    if (listen == nullptr) {
        if (root.get("listen") == nullptr)
            r.problem(&root, "listen", none);
        return;
    }
    r.only_keys(*listen, "listen", {"tls", "unix", "ssh"});
    auto const* tls = r.table(*listen, "listen", "tls");
    auto const* unix_table = r.table(*listen, "listen", "unix");
    if (tls != nullptr)
        read_tls(r, *tls, cfg);
    if (unix_table != nullptr)
        read_unix(r, *unix_table, cfg);
    if (auto const* ssh = r.table(*listen, "listen", "ssh"))
        read_ssh(r, *ssh, cfg);
    if (listen->get("tls") == nullptr && listen->get("unix") == nullptr &&
        listen->get("ssh") == nullptr)
        r.problem(listen, "listen", none);
}

void read_admin(reader& r, toml::table const& root, config& cfg) {
    auto const* t = r.table(root, "", "admin");
    if (t == nullptr)
        return;
    r.only_keys(*t, "admin", {"address"});
    auto addr = r.string(*t, "admin", "address");
    if (!addr) {
        if (t->get("address") == nullptr)
            r.problem(t, "admin.address",
                      "missing (write e.g. \"127.0.0.1:9102\", or remove [admin] to turn it off)");
        return;
    }
    auto hp = split_address(*addr);
    if (!hp) {
        r.problem(t->get("address"), "admin.address",
                  "\"" + *addr + "\" is not HOST:PORT (write e.g. \"127.0.0.1:9102\")");
        return;
    }
    cfg.admin = admin_listener{*addr, hp->first, hp->second};
}

void read_limits(reader& r, toml::table const& root, config& cfg) {
    auto const* t = r.table(root, "", "limits");
    if (t == nullptr)
        return;
    r.only_keys(*t, "limits",
                {"max_connections", "header_bytes", "handshake_timeout", "header_timeout",
                 "idle_timeout", "upstream_connect_timeout", "write_timeout", "body_bytes",
                 "build_context_bytes", "per_user_connections", "per_user_inflight",
                 "per_user_rate", "per_user_burst", "handshakes_per_ip"});
    auto& l = cfg.limits;
    if (auto v = r.integer(*t, "limits", "per_user_connections", 1, 1'000'000))
        l.per_user.connections = static_cast<std::uint64_t>(*v);
    if (auto v = r.integer(*t, "limits", "per_user_inflight", 1, 1'000'000))
        l.per_user.inflight = static_cast<std::uint64_t>(*v);
    if (auto v = r.number(*t, "limits", "per_user_rate", 0, 1e6))
        l.per_user.rate = *v;
    if (auto v = r.number(*t, "limits", "per_user_burst", 0, 1e6))
        l.per_user.burst = *v;
    if (auto v = r.integer(*t, "limits", "handshakes_per_ip", 0, 1'000'000))
        l.handshakes_per_ip = static_cast<std::uint64_t>(*v);
    if (auto v = r.integer(*t, "limits", "max_connections", 1, 1'000'000))
        l.max_connections = static_cast<std::uint64_t>(*v);
    if (auto v = r.integer(*t, "limits", "header_bytes", 1024, 1 << 20))
        l.header_bytes = static_cast<std::uint64_t>(*v);
    if (auto v = r.integer(*t, "limits", "body_bytes", 1024, 64 << 20))
        l.body_bytes = static_cast<std::uint64_t>(*v);
    if (auto v = r.integer(*t, "limits", "build_context_bytes", 1024, std::int64_t{4} << 30))
        l.build_context_bytes = static_cast<std::uint64_t>(*v);
    for (auto [key, field] : {std::pair{"handshake_timeout", &l.handshake_timeout},
                              std::pair{"header_timeout", &l.header_timeout},
                              std::pair{"idle_timeout", &l.idle_timeout},
                              std::pair{"upstream_connect_timeout", &l.upstream_connect_timeout},
                              std::pair{"write_timeout", &l.write_timeout}}) {
        if (auto d = r.duration_value(*t, "limits", key))
            *field = *d;
    }
}

void read_ssh_keys(reader& r, toml::table const& u, std::string const& path, user_entry& entry) {
    if (auto keys = r.strings(u, path, "ssh_keys")) {
        for (std::size_t i = 0; i < keys->size(); ++i) {
            std::string why;
            if (auto key = parse_ssh_key_line((*keys)[i].first, why))
                entry.ssh_keys.push_back(*key);
            else
                r.problem((*keys)[i].second, path + ".ssh_keys[" + std::to_string(i) + "]", why);
        }
    }
    auto file = r.file(u, path, "ssh_keys_file", false);
    if (!file)
        return;
    entry.ssh_keys_file = *file;
    std::ifstream in(*file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    auto const parsed = parse_ssh_keys_text(text.str());
    entry.ssh_keys.insert(entry.ssh_keys.end(), parsed.keys.begin(), parsed.keys.end());
    for (auto const& p : parsed.problems)
        r.problem(u.get("ssh_keys_file"), path + ".ssh_keys_file",
                  file->string() + " line " + std::to_string(p.line) + ": " + p.why);
}

void read_users(reader& r, toml::table const& root, config& cfg) {
    auto const* t = r.table(root, "", "users");
    if (t == nullptr)
        return;
    for (auto const& [key, node] : *t) {
        std::string const path = "users." + key_text(key.str());
        auto const* u = node.as_table();
        if (u == nullptr) {
            r.problem(&node, path,
                      std::string("expected a table, got ") + type_name(node) + " (write [" + path +
                          "] with groups = [...])");
            continue;
        }
        r.only_keys(*u, path, {"groups", "ssh_keys", "ssh_keys_file"});
        user_entry entry;
        read_ssh_keys(r, *u, path, entry);
        if (auto groups = r.strings(*u, path, "groups")) {
            for (auto& [g, at] : *groups) {
                if (!valid_name(g))
                    r.problem(at, path + ".groups", "empty or control characters in group name");
                else
                    entry.groups.push_back(g);
            }
        }
        cfg.users.emplace(std::string(key.str()), std::move(entry));
    }
}

void read_operations(reader& r, toml::table const& t, std::string const& path, std::string_view key,
                     std::vector<std::string>& out) {
    auto list = r.strings(t, path, key);
    if (!list)
        return;
    auto const& routes = engine_api::route_table::engine_api();
    for (std::size_t i = 0; i < list->size(); ++i) {
        auto const& [op, at] = (*list)[i];
        std::string const p = path + "." + std::string(key) + "[" + std::to_string(i) + "]";
        if (!routes.glob_matches_any(op)) {
            std::string msg = "unknown operation \"" + op + "\"";
            if (auto s = routes.suggest(op); !s.empty())
                msg += " (did you mean \"" + std::string(s) + "\"?)";
            else
                msg += " (use an operationId of the Engine API, e.g. \"ContainerList\", or a glob "
                       "such as \"Container*\")";
            r.problem(at, p, msg);
            continue;
        }
        out.push_back(op);
    }
}

void read_roles(reader& r, toml::table const& root, config& cfg) {
    auto const* t = r.table(root, "", "roles");
    if (t == nullptr) {
        if (root.get("roles") == nullptr)
            r.problem(&root, "roles",
                      "no roles defined: nobody would be allowed anything (add a [roles.NAME] with "
                      "subjects and allow)");
        return;
    }
    std::vector<std::uint32_t> role_lines;
    for (auto const& [key, node] : *t) {
        std::string const path = "roles." + key_text(key.str());
        auto const* rt = node.as_table();
        if (rt == nullptr) {
            r.problem(&node, path, std::string("expected a table, got ") + type_name(node));
            continue;
        }
        r.only_keys(*rt, path,
                    {"subjects", "allow", "deny", "mode", "containers", "volumes", "images",
                     "build", "ownership", "limits"});
        role ro;
        ro.name = std::string(key.str());
        if (auto const* lt = r.table(*rt, path, "limits")) {
            std::string const lp = path + ".limits";
            r.only_keys(
                *lt, lp,
                {"per_user_connections", "per_user_inflight", "per_user_rate", "per_user_burst"});
            if (auto v = r.integer(*lt, lp, "per_user_connections", 1, 1'000'000))
                ro.limit_connections = static_cast<std::uint64_t>(*v);
            if (auto v = r.integer(*lt, lp, "per_user_inflight", 1, 1'000'000))
                ro.limit_inflight = static_cast<std::uint64_t>(*v);
            ro.limit_rate = r.number(*lt, lp, "per_user_rate", 0, 1e6);
            ro.limit_burst = r.number(*lt, lp, "per_user_burst", 0, 1e6);
        }
        if (auto subjects = r.strings(*rt, path, "subjects")) {
            for (std::size_t i = 0; i < subjects->size(); ++i) {
                auto const& [s, at] = (*subjects)[i];
                std::string const p = path + ".subjects[" + std::to_string(i) + "]";
                auto const colon = s.find(':');
                std::string const kind = s.substr(0, colon);
                std::string const name = colon == std::string::npos ? "" : s.substr(colon + 1);
                if (colon == std::string::npos || (kind != "user" && kind != "group") ||
                    !valid_name(name))
                    r.problem(at, p,
                              "\"" + s +
                                  "\" is not a subject (write \"user:NAME\" or \"group:NAME\")");
                else
                    ro.subjects.push_back(
                        {kind == "user" ? subject::kind::user : subject::kind::group, name});
            }
        }
        if (rt->get("subjects") == nullptr)
            r.problem(rt, path + ".subjects",
                      "missing (name who holds this role: [\"group:developers\", \"user:alice\"])");
        read_operations(r, *rt, path, "allow", ro.allow);
        read_operations(r, *rt, path, "deny", ro.deny);
        if (rt->get("allow") == nullptr)
            r.problem(rt, path + ".allow",
                      "missing (list the operations this role may call, e.g. [\"ContainerList\"])");
        if (auto mode = r.string(*rt, path, "mode")) {
            if (*mode == "enforce")
                ro.mode = role_mode::enforce;
            else if (*mode == "audit")
                ro.mode = role_mode::audit;
            else
                r.problem(rt->get("mode"), path + ".mode",
                          "unknown mode \"" + *mode + "\" (use \"enforce\" or \"audit\")");
        }
        read_role_constraints(r, *rt, path, ro.constraints);
        cfg.roles.push_back(std::move(ro));
        role_lines.push_back(node.source().begin.line);
    }
    // toml++ iterates keys sorted; keep the file's order, which is the order users read.
    std::vector<std::size_t> order(cfg.roles.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](auto a, auto b) { return role_lines[a] < role_lines[b]; });
    std::vector<role> sorted;
    sorted.reserve(order.size());
    for (auto i : order)
        sorted.push_back(std::move(cfg.roles[i]));
    cfg.roles = std::move(sorted);
    for (auto const& ro : cfg.roles) {
        auto const& c = ro.constraints;
        bool const grpc = std::find(ro.allow.begin(), ro.allow.end(), "Grpc") != ro.allow.end();
        if (grpc && (c.build || c.images || c.containers))
            cfg.warnings.push_back(
                "roles." + ro.name +
                ".allow: \"Grpc\" (BuildKit's own API) carries build options the gateway cannot "
                "read, so this role's [build], [images] and [containers] sections refuse it; "
                "docker build works without it");
    }
}

} // namespace

config parse_config(std::string_view text, std::filesystem::path const& base_dir,
                    std::string const& name) {
    toml::table root;
    try {
        root = toml::parse(text, name);
    } catch (toml::parse_error const& e) {
        std::ostringstream out;
        out << name << ':' << e.source().begin.line << ':' << e.source().begin.column
            << ": TOML syntax error: " << e.description();
        throw config_error({out.str()});
    }
    reader r(name, base_dir);
    r.only_keys(root, "", {"gateway", "listen", "admin", "limits", "users", "roles"});
    config cfg;
    read_gateway(r, root, cfg);
    read_listen(r, root, cfg);
    read_admin(r, root, cfg);
    read_limits(r, root, cfg);
    read_users(r, root, cfg);
    read_roles(r, root, cfg);
    if (!r.problems().empty())
        throw config_error(std::move(r.problems()));
    if (cfg.gateway.workers == 0)
        cfg.gateway.workers = std::max(1u, std::thread::hardware_concurrency());
    return cfg;
}

std::string parse_crl_url(std::string_view text, crl_url& out) {
    constexpr std::string_view http = "http://";
    auto const quoted = "\"" + std::string(text) + "\"";
    if (text.starts_with("https://"))
        return quoted + ": https:// is not supported (use the http:// URL of the same CRL: a CRL "
                        "is signed by its CA and checked against listen.tls.ca, so plain HTTP "
                        "cannot forge one)";
    if (!text.starts_with(http))
        return quoted + " is not an http:// URL (write e.g. \"http://pki.example.com/ca.crl\")";
    auto rest = text.substr(http.size());
    auto const slash = rest.find('/');
    auto const authority = rest.substr(0, slash);
    out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (auto const hash = out.target.find('#'); hash != std::string::npos)
        out.target.resize(hash);
    if (authority.empty() || authority.find('@') != std::string_view::npos)
        return quoted + " names no host (write e.g. \"http://pki.example.com/ca.crl\")";
    if (std::any_of(text.begin(), text.end(),
                    [](char c) { return c <= ' ' || c == '\x7f' || c == '\\'; }))
        return quoted + " has spaces, control characters or backslashes (percent-encode them)";
    std::string_view host = authority;
    std::string_view port;
    if (authority.front() == '[') {
        auto const close = authority.find(']');
        if (close == std::string_view::npos)
            return quoted + ": unclosed [ in the host";
        host = authority.substr(1, close - 1);
        auto const after = authority.substr(close + 1);
        if (!after.empty() && (after.front() != ':' || after.size() == 1))
            return quoted + ": expected :PORT after the ]";
        if (!after.empty())
            port = after.substr(1);
    } else if (auto const colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
        if (port.empty())
            return quoted + ": empty port after the :";
    }
    if (host.empty())
        return quoted + " names no host";
    out.port = 80;
    if (!port.empty()) {
        if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) ||
            std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535)
            return quoted + ": \"" + std::string(port) + "\" is not a port (1..65535)";
        out.port = static_cast<std::uint16_t>(std::stoul(std::string(port)));
    }
    out.host = std::string(host);
    out.url = std::string(text);
    return "";
}

std::vector<std::filesystem::path> watched_files(config const& cfg) {
    std::vector<std::filesystem::path> files;
    if (!cfg.source.empty())
        files.push_back(cfg.source);
    if (cfg.tls) {
        files.insert(files.end(), {cfg.tls->ca, cfg.tls->cert, cfg.tls->key});
        if (cfg.tls->crl)
            files.push_back(*cfg.tls->crl);
    }
    for (auto const& [name, user] : cfg.users) {
        if (!user.ssh_keys_file.empty())
            files.push_back(user.ssh_keys_file);
    }
    return files;
}

config load_config(std::filesystem::path const& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw config_error(
            {file.string() + ": cannot read the config file (check the path given to --config)"});
    std::ostringstream text;
    text << in.rdbuf();
    auto const abs = std::filesystem::absolute(file);
    auto cfg = parse_config(text.str(), abs.parent_path(), file.string());
    cfg.source = abs;
    return cfg;
}

} // namespace dockgate::config
